"""LLM fakes: `ScriptedLLM` (queued replies) and `RecordingLLMFallback` (the shell's hook).

    llm = ScriptedLLM([in_scope("We open at 10."), out_of_scope(), ConnectorUnavailable("down")])
    answer = await llm.answer("when do you open?", KNOWLEDGE, context())
    assert llm.questions == ["when do you open?"]

`ScriptedLLM` fails loudly (`ScriptExhausted`) when asked more than its script holds, so a test
notices an unexpected extra call. For pattern rules, knowledge lookups, delays and token counts
use the `mock_llm` adapter (`botfleet.adapters.llm.MockLLM`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from botfleet.ports.connectors import Answer, LLMContext, LLMReply, LLMUsage

__all__ = [
    "LLMCall",
    "RecordingLLMFallback",
    "ScriptExhausted",
    "ScriptedLLM",
    "context",
    "in_scope",
    "out_of_scope",
]


class ScriptExhausted(AssertionError):
    """The code under test asked the LLM more often than the test scripted."""


def in_scope(
    text: str, *, input_tokens: int = 100, output_tokens: int = 20, cached: int = 0
) -> Answer:
    """An answer the knowledge supports, with token counts."""
    return Answer(text, True, LLMUsage(input_tokens, output_tokens, cached))


def out_of_scope(*, input_tokens: int = 100, output_tokens: int = 5) -> Answer:
    """The model says the knowledge does not contain the answer."""
    return Answer("", False, LLMUsage(input_tokens, output_tokens, 0))


def context(
    state: str = "MENU",
    history: Iterable[tuple[str, str]] = (),
    *,
    tenant_name: str = "Test Salon",
    language: str = "en",
    reply_language: str = "",
    turn_language: str = "",
) -> LLMContext:
    return LLMContext(state, tuple(history), tenant_name, language, reply_language, turn_language)


@dataclass(frozen=True, slots=True)
class LLMCall:
    question: str
    knowledge: str
    context: LLMContext


@dataclass
class ScriptedLLM:
    """`LLMConnector` returning (or raising) the scripted items in order.

    Args:
        script: `Answer`s to return and exceptions to raise, one per call.
        delay_s: seconds each call waits first (for timeout tests).
    """

    script: list[Answer | BaseException] = field(default_factory=list)
    delay_s: float = 0.0
    calls: list[LLMCall] = field(default_factory=list)
    category: str = "llm"

    def then(self, *items: Answer | BaseException) -> ScriptedLLM:
        """Queue more items; returns self to chain."""
        self.script.extend(items)
        return self

    @property
    def questions(self) -> list[str]:
        return [c.question for c in self.calls]

    async def answer(self, question: str, knowledge: str, context: LLMContext) -> Answer:
        self.calls.append(LLMCall(question, knowledge, context))
        if not self.script:
            raise ScriptExhausted(
                f"ScriptedLLM: call {len(self.calls)} ({question[:60]!r}) but the script is empty"
            )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


@dataclass
class RecordingLLMFallback:
    """`LLMFallback` that records questions and answers with a fixed text (None: disabled)
    and outcome (`out_of_scope`, say: the text is then the safe text)."""

    text: str | None = "Scripted answer."
    asked: list[tuple[str, LLMContext, str]] = field(default_factory=list)
    outcome: str = "answered"

    async def reply(
        self, question: str, context: LLMContext, fallback_text: str
    ) -> LLMReply | None:
        self.asked.append((question, context, fallback_text))
        return None if self.text is None else LLMReply(self.text, self.outcome)
