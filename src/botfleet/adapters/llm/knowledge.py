"""The knowledge document: size estimate, the too-large warning, and the dev file watcher.

In production the control plane publishes a new version and the data plane swaps it in
(`LiveConfig.swap_knowledge`). In development the document is a local markdown file
(`knowledge_path`); `KnowledgeFile.refresh()` looks at its modification time before each
question and swaps in the new text when it changed, so an edit applies to the next message.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import structlog

log = structlog.get_logger("botfleet.llm")

#: Tokens kept free for the rules, the conversation, the question and the answer.
PROMPT_RESERVE_TOKENS = 2_000


class KnowledgeHolder(Protocol):
    """Where the live knowledge is (the data plane's `LiveConfig` satisfies this)."""

    knowledge: str
    knowledge_version: str

    def swap_knowledge(self, text: str, version: str) -> None: ...


def estimate_tokens(text: str) -> int:
    """Rough token count: about four bytes of UTF-8 per token for European languages."""
    return math.ceil(len(text.encode("utf-8")) / 4)


@dataclass(frozen=True, slots=True)
class SizeWarning:
    estimated_tokens: int
    limit_tokens: int

    def __str__(self) -> str:
        return (
            f"the knowledge document is about {self.estimated_tokens} tokens; the model's "
            f"context leaves room for about {self.limit_tokens}: questions may fail and get "
            "the safe fallback. Shorten the document or choose a model with a larger context"
        )


def size_warning(text: str, context_tokens: int, answer_tokens: int) -> SizeWarning | None:
    """A warning when the document (plus prompt and answer) may not fit the model's context."""
    room = max(context_tokens - answer_tokens - PROMPT_RESERVE_TOKENS, 0)
    estimated = estimate_tokens(text)
    return SizeWarning(estimated, room) if estimated > room else None


def content_version(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


class KnowledgeFile:
    """Reloads a local knowledge file into a `KnowledgeHolder` when its mtime or size changes."""

    def __init__(self, path: Path, holder: KnowledgeHolder) -> None:
        self.path = path
        self.holder = holder
        self._seen = self._stamp()
        if not holder.knowledge_version:
            holder.knowledge_version = content_version(holder.knowledge)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def refresh(self) -> bool:
        """Swap in the file's text if it changed since last seen. Returns True when swapped.

        A file that vanished or cannot be read keeps the current text (logged once per change).
        """
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        if stamp is None:
            log.warning("knowledge_file_missing", path=str(self.path))
            return False
        try:
            text = self.path.read_text(encoding="utf-8-sig")  # a BOM is no text
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("knowledge_file_unreadable", path=str(self.path), error=str(exc))
            return False
        if text == self.holder.knowledge:
            return False
        version = content_version(text)
        self.holder.swap_knowledge(text, version)
        log.info("knowledge_reloaded", path=str(self.path), version=version, chars=len(text))
        return True
