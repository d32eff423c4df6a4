"""The LLM's answers go into the conversation's history, so a follow-up question reaches the
model with the answer it refers to ("how much is it?" after an answer about a treatment)."""

from __future__ import annotations

from typing import Any

from botfleet.flows.state import HISTORY_LIMIT
from botfleet.ports.connectors import LLMContext, LLMReply
from botfleet.testing.llm import RecordingLLMFallback
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message

FLOW: dict[str, Any] = {
    "id": "llm_history_v1",
    "initial_state": "ASK",
    "states": {
        "ASK": {
            "llm_fallback": True,
            "on_enter": [{"action": "send_text", "text": "Ask me anything"}],
            "fallback": "ASK",
        }
    },
}


class NumberedLLM(RecordingLLMFallback):
    """Answers `answer 1`, `answer 2`... and records the history each question came with."""

    async def reply(self, question: str, context: LLMContext, fallback_text: str) -> LLMReply:
        self.asked.append((question, context, fallback_text))
        return LLMReply(f"answer {len(self.asked)}")


async def test_a_follow_up_question_sees_the_previous_answer() -> None:
    llm = NumberedLLM()
    async with bootstrap_test_runtime(flow=FLOW, sender=RecordingSender(), llm=llm) as rt:
        for number, text in enumerate(["hi", "do you whiten teeth?", "how much is it?"]):
            assert await rt.accept(text_message("c1", text, message_id=f"m{number}"))
            await rt.sequencer.drain()
        state = await rt.states.load("c1")
    (_, first, _), (question, second, _) = llm.asked
    assert question == "how much is it?"
    assert ("user", "do you whiten teeth?") in second.history
    assert ("bot", "answer 1") in second.history  # missing before: the step never saw it
    assert second.history.index(("bot", "answer 1")) > second.history.index(
        ("user", "do you whiten teeth?")
    )
    assert ("bot", "answer 1") not in first.history
    assert state is not None
    assert [(t.role, t.text) for t in state.history][-2:] == [
        ("user", "how much is it?"),
        ("bot", "answer 2"),
    ]


async def test_the_llm_is_handed_all_the_history_the_conversation_keeps() -> None:
    """`history_turns` goes up to 20: the runtime handed over only the last 8 lines."""
    llm = NumberedLLM()
    async with bootstrap_test_runtime(flow=FLOW, sender=RecordingSender(), llm=llm) as rt:
        for number in range(12):
            assert await rt.accept(
                text_message("c1", f"question {number}", message_id=f"m{number}")
            )
            await rt.sequencer.drain()
    question, context, _ = llm.asked[-1]
    assert question == "question 11"
    assert len(context.history) == HISTORY_LIMIT
    assert context.history[-1] == ("user", "question 11")
    assert context.history[0] == ("bot", "answer 1")  # 20 lines back: answer 1 onwards
