"""`llm_unanswered` through the real runtime and LLM fallback (the `mock_llm` provider, which
answers from the knowledge document): a question the document does not answer gets the safe
text, then the flow enters the state it names (a language school's "Shall I pass you to a
person?"); an answered one changes nothing; `llm_unanswered_after` counts misses in a row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botfleet.adapters.llm.quota import InMemoryUsageStore
from botfleet.domain.errors import ConnectorUnavailable
from botfleet.domain.outputs import Buttons, Output, Text
from botfleet.domain.tenant_config import TenantConfig
from botfleet.testing.llm import ScriptedLLM, in_scope
from botfleet.testing.runtime import (
    bootstrap_test_runtime,
    choice_message,
    make_settings,
    make_tenant_config,
    text_message,
)

KNOWLEDGE = """# Lingua School
- Spanish courses start every Monday; a course costs 120 euros a month.
- Classes are in Calle Mayor 3, second floor.
"""
SAFE = "I don't have that information."
OFFER = "Shall I pass you to a person?"
CONTACT = "+34600000001"


def flow(after: int | None = None) -> dict[str, Any]:
    faq: dict[str, Any] = {
        "llm_fallback": True,
        "llm_unanswered": "HANDOFF_ASK",
        "on_enter": [{"action": "send_text", "text": "Ask me about our courses."}],
        "fallback": "FAQ",
    }
    if after is not None:
        faq["llm_unanswered_after"] = after
    return {
        "id": "school",
        "initial_state": "FAQ",
        "settings": {"llm_fallback_text": SAFE},
        "states": {
            "FAQ": faq,
            "HANDOFF_ASK": {
                "on_enter": [
                    {
                        "action": "send_interactive_buttons",
                        "body": OFFER,
                        "buttons": [
                            {"id": "human_yes", "title": "Yes please"},
                            {"id": "human_no", "title": "No thanks"},
                        ],
                    }
                ],
                "transitions": [
                    {"on_payload": "human_yes", "target": "HANDOFF"},
                    {"on_payload": "human_no", "target": "FAQ"},
                ],
                "fallback": "HANDOFF_ASK",
            },
            "HANDOFF": {"on_enter": [{"action": "send_text", "text": "A person will write."}]},
        },
    }


def tenant(after: int | None = None, **llm: Any) -> TenantConfig:
    settings = {
        "enabled": True,
        "provider": "mock_llm",
        "resilience": {"max_attempts": 1},  # one provider call per question: no retry
        **llm,
    }
    return make_tenant_config(flow(after), name="Lingua", llm=settings, knowledge=KNOWLEDGE)


def texts(outputs: list[Output]) -> list[str]:
    return [o.text if isinstance(o, Text) else getattr(o, "body", "") for o in outputs]


class School:
    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    async def say(self, text: str) -> list[Output]:
        return list((await self.runtime.handle(text_message(CONTACT, text))).outputs)

    async def press(self, payload: str) -> list[Output]:
        return list((await self.runtime.handle(choice_message(CONTACT, payload))).outputs)

    async def node_and_data(self) -> tuple[str, dict[str, Any]]:
        state = await self.runtime.states.load(CONTACT)
        assert state is not None
        return state.node, {k: v for k, v in state.data.items() if k != "today"}


async def started(runtime: Any) -> School:
    school = School(runtime)
    # A new contact's first message gets the state's fallback, never the LLM.
    assert texts(await school.say("hello")) == ["Ask me about our courses."]
    return school


async def test_an_out_of_scope_question_gets_the_safe_text_then_the_offer() -> None:
    async with bootstrap_test_runtime(tenant(), llm_usage=InMemoryUsageStore()) as runtime:
        school = await started(runtime)
        replies = await school.say("Do you teach Japanese?")
        assert texts(replies) == [SAFE, OFFER]
        assert isinstance(replies[1], Buttons)
        assert (await school.node_and_data())[0] == "HANDOFF_ASK"
        state = await runtime.states.load(CONTACT)
        assert [(t.role, t.text) for t in state.history][-3:] == [
            ("user", "Do you teach Japanese?"),
            ("bot", SAFE),
            ("bot", OFFER),
        ]
        # The offer's buttons answer, typed or pressed.
        assert texts(await school.say("1")) == ["A person will write."]


async def test_an_answered_question_changes_nothing() -> None:
    async with bootstrap_test_runtime(tenant(), llm_usage=InMemoryUsageStore()) as runtime:
        school = await started(runtime)
        replies = await school.say("When do Spanish courses start?")
        assert texts(replies) == [
            "Spanish courses start every Monday; a course costs 120 euros a month."
        ]
        assert await school.node_and_data() == ("FAQ", {})


async def test_a_provider_down_counts_and_a_question_too_long_does_not() -> None:
    llm = ScriptedLLM([ConnectorUnavailable("down")])
    config = tenant(max_question_chars=40)
    async with bootstrap_test_runtime(
        config, llm_connector=llm, llm_usage=InMemoryUsageStore()
    ) as runtime:
        school = await started(runtime)
        long = await school.say("Could you tell me everything about all of your courses please?")
        assert len(long) == 1 and SAFE not in texts(long)  # "ask in a few words": no offer
        assert llm.questions == []
        assert (await school.node_and_data())[0] == "FAQ"
        assert texts(await school.say("Is there a discount?")) == [SAFE, OFFER]
        assert (await school.node_and_data())[0] == "HANDOFF_ASK"


async def test_after_two_misses_in_a_row_and_an_answer_starts_the_count_again(
    tmp_path: Path,
) -> None:
    llm = ScriptedLLM([ConnectorUnavailable("down"), in_scope("Every Monday.")])
    settings = make_settings(tmp_path / "school.db")
    async with bootstrap_test_runtime(
        tenant(after=2), settings=settings, llm_connector=llm, llm_usage=InMemoryUsageStore()
    ) as runtime:
        school = await started(runtime)
        assert texts(await school.say("Do you teach Japanese?")) == [SAFE]
        assert await school.node_and_data() == ("FAQ", {"llm_unanswered_count": 1})
        assert texts(await school.say("When do courses start?")) == ["Every Monday."]
        assert await school.node_and_data() == ("FAQ", {})
        llm.then(ConnectorUnavailable("down"), ConnectorUnavailable("down"))
        assert texts(await school.say("Do you teach Korean?")) == [SAFE]
        assert await school.node_and_data() == ("FAQ", {"llm_unanswered_count": 1})
        assert texts(await school.say("Is there a discount?")) == [SAFE, OFFER]
        assert await school.node_and_data() == ("HANDOFF_ASK", {})
        # "No thanks": back to the questions, with a fresh count.
        assert texts(await school.press("human_no")) == ["Ask me about our courses."]
        llm.then(ConnectorUnavailable("down"))
        assert texts(await school.say("And Italian?")) == [SAFE]
        assert await school.node_and_data() == ("FAQ", {"llm_unanswered_count": 1})
