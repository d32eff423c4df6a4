"""Knowledge: size estimate and warning, and the dev file watcher's hot swap."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from botfleet.adapters.llm.knowledge import (
    PROMPT_RESERVE_TOKENS,
    KnowledgeFile,
    content_version,
    estimate_tokens,
    size_warning,
)
from botfleet.data_plane.bootstrap import load_knowledge
from botfleet.domain.tenant_config import tenant_config_from_mapping

FLOW = {"id": "f", "initial_state": "A", "states": {"A": {}}}


@dataclass
class Holder:
    knowledge: str = ""
    knowledge_version: str = ""
    swaps: int = 0

    def swap_knowledge(self, text: str, version: str) -> None:
        self.knowledge, self.knowledge_version = text, version
        self.swaps += 1


def write(path: Path, text: str, mtime_ns: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))  # coarse file-system clocks must not hide an edit


def test_tokens_are_estimated_from_utf8_bytes() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("ñ" * 4) == 2  # two bytes each


def test_a_document_that_fits_gets_no_warning() -> None:
    assert size_warning("x" * 4000, context_tokens=8000, answer_tokens=500) is None


def test_a_document_too_large_for_the_context_is_warned_about() -> None:
    warning = size_warning("x" * 40_000, context_tokens=8000, answer_tokens=500)
    assert warning is not None
    assert warning.estimated_tokens == 10_000
    assert warning.limit_tokens == 8000 - 500 - PROMPT_RESERVE_TOKENS
    assert "shorten the document" in str(warning).lower()


def test_the_watcher_swaps_in_an_edited_file(tmp_path: Path) -> None:
    path = tmp_path / "kb.md"
    write(path, "Hours: 10-14", 1_000_000_000)
    holder = Holder(knowledge="Hours: 10-14")
    watcher = KnowledgeFile(path, holder)
    assert holder.knowledge_version == content_version("Hours: 10-14")
    assert not watcher.refresh()
    write(path, "Hours: 9-13", 2_000_000_000)
    assert watcher.refresh()
    assert (holder.knowledge, holder.swaps) == ("Hours: 9-13", 1)
    assert holder.knowledge_version == content_version("Hours: 9-13")
    assert not watcher.refresh()  # unchanged since


def test_a_touched_but_identical_file_is_not_swapped(tmp_path: Path) -> None:
    path = tmp_path / "kb.md"
    write(path, "same", 1_000_000_000)
    holder = Holder(knowledge="same", knowledge_version="v3")
    watcher = KnowledgeFile(path, holder)
    write(path, "same", 3_000_000_000)
    assert not watcher.refresh()
    assert (holder.swaps, holder.knowledge_version) == (0, "v3")


def test_a_vanished_or_broken_file_keeps_the_current_text(tmp_path: Path) -> None:
    path = tmp_path / "kb.md"
    write(path, "Hours: 10-14", 1_000_000_000)
    holder = Holder(knowledge="Hours: 10-14")
    watcher = KnowledgeFile(path, holder)
    path.unlink()
    assert not watcher.refresh()
    path.write_bytes(b"\xff\xfe not utf-8")
    assert not watcher.refresh()
    assert holder.knowledge == "Hours: 10-14"
    write(path, "Hours: 8-12", 5_000_000_000)
    assert watcher.refresh()
    assert holder.knowledge == "Hours: 8-12"


def test_a_byte_order_mark_is_no_part_of_the_knowledge(tmp_path: Path) -> None:
    # Notepad's UTF-8 files start with U+FEFF: the prompt gets the text, not the mark.
    path = tmp_path / "kb.md"
    write(path, "Hours: 10-14", 1_000_000_000)
    holder = Holder(knowledge="Hours: 10-14")
    watcher = KnowledgeFile(path, holder)
    write(path, "\ufeffHours: 9-13", 2_000_000_000)
    assert watcher.refresh()
    assert holder.knowledge == "Hours: 9-13"
    config = tenant_config_from_mapping(
        {"tenant_id": "t", "flow": FLOW, "knowledge_path": str(path)},
        source=str(tmp_path / "t.yaml"),
    )
    assert load_knowledge(config) == "Hours: 9-13"
