"""The LLM's answers go into the conversation's history, so a follow-up question reaches the
model with the answer it refers to ("how much is it?" after an answer about a treatment)."""

from __future__ import annotations

from typing import Any

from botfleet.ports.connectors import LLMContext
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

    async def reply(self, question: str, context: LLMContext, fallback_text: str) -> str | None:
        self.asked.append((question, context, fallback_text))
        return f"answer {len(self.asked)}"


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
