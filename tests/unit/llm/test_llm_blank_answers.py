"""An in-scope answer with nothing to show once made plain text gets the safe text.

`"```"`, a zero-width space or empty emphasis passed the "empty answer" check (they are not
whitespace) and became an empty text after `plain_text`: the contact got no reply at all and
the log said `outcome=answered chars=0`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from botfleet.adapters.llm.guard import answer_problem
from botfleet.adapters.llm.prompt import rules_text
from botfleet.adapters.llm.quota import InMemoryUsageStore
from botfleet.data_plane.llm_fallback import build_llm_fallback
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.ports.connectors import LLMReply
from botfleet.testing.clock import FrozenClock
from botfleet.testing.llm import ScriptedLLM, context, in_scope

BLANK = ["```\n```", "\u200b", "``", "**  **", "\u202e\u2066"]
SAFE = "Sorry, I don't have that information. Call us on +34 911 000 000."


class _Live:
    knowledge = "- We accept Sanitas.\n"
    knowledge_version = "v1"

    def swap_knowledge(self, text: str, version: str) -> None:
        self.knowledge, self.knowledge_version = text, version


@pytest.mark.parametrize("answer", BLANK)
def test_a_blank_once_plain_answer_is_an_empty_answer(answer: str) -> None:
    assert answer_problem(answer, rules_text(context(), 1000)) == "empty_answer"


@pytest.mark.parametrize("answer", BLANK)
async def test_the_contact_gets_the_safe_text_not_an_empty_reply(answer: str) -> None:
    config = tenant_config_from_mapping(
        {
            "tenant_id": "dental",
            "timezone": "Europe/Madrid",
            "flow": {"id": "f", "initial_state": "A", "states": {"A": {}}},
            "llm": {"enabled": True, "fallback_text": SAFE},
        },
        source="dental.yaml",
    )
    usage = InMemoryUsageStore()
    fb = build_llm_fallback(
        config,
        live=_Live(),
        usage=usage,
        clock=FrozenClock(datetime(2026, 12, 6, 12, tzinfo=UTC)),
        max_text=4096,
        registry=CollectorRegistry(),
        connector=ScriptedLLM([in_scope(answer)]),
    )
    with capture_logs() as logs:
        reply = await fb.reply("Do you take Sanitas?", context(), "")
    assert reply == LLMReply(SAFE, "empty_answer")
    line = next(e for e in logs if e["event"] == "llm_question")
    assert line["outcome"] == "empty_answer"
    month = await usage.get("2026-12")
    assert (month.answered, month.out_of_scope) == (0, 1)


def test_a_short_real_answer_still_passes() -> None:
    assert answer_problem("Yes.", rules_text(context(), 1000)) is None
