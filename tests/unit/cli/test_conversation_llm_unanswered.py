"""`llm_unanswered` in conversation tests (`botfleet test`): a scripted answer out of scope (or a
scripted provider error) enters the state it names, an answer in scope does not, and coverage
counts `states.S.llm_unanswered` as a transition."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import Invoke

from botfleet.cli.coverage import coverage_by_flow
from botfleet.testing.conversation import run_conversation_test

Write = Callable[[str, str], Path]
REPO = Path(__file__).resolve().parents[3]

FLOW = """\
id: school_v1
initial_state: FAQ
settings:
  llm_fallback_text: "I don't know."
states:
  FAQ:
    llm_fallback: true
    llm_unanswered: HANDOFF_ASK
    on_enter:
      - action: send_text
        text: "Ask me."
    fallback: FAQ
  HANDOFF_ASK:
    on_enter:
      - action: send_text
        text: "Shall I pass you to a person?"
    fallback: FAQ
"""
TEST = """\
flow: school.yaml
knowledge: "- Courses start every Monday."
llm: [{answer}]
steps:
  - say: hello
  - say: do you teach Japanese?
    expect: {expect}
    state: {state}
"""
OFFER = '["I don\'t know.", "Shall I pass you to a person?"]'


def write_test(write: Write, answer: str, expect: str, state: str) -> Path:
    write("school.yaml", FLOW)
    return write("case.yaml", TEST.format(answer=answer, expect=expect, state=state))


@pytest.mark.parametrize("answer", ["{in_scope: false}", "{error: timeout}"])
async def test_an_unanswered_scripted_question_enters_the_state_named(
    write: Write, answer: str
) -> None:
    result = await run_conversation_test(write_test(write, answer, OFFER, "HANDOFF_ASK"))
    assert result.status == "passed", result.message
    assert "states.FAQ.llm_unanswered" in result.fired
    assert "HANDOFF_ASK" in result.entered
    [coverage] = coverage_by_flow([result])
    assert "states.FAQ.llm_unanswered" in coverage.transitions
    assert "states.FAQ.llm_unanswered" not in coverage.missed_transitions


async def test_an_answer_in_scope_stays_and_a_test_expecting_the_offer_fails(
    write: Write,
) -> None:
    stays = await run_conversation_test(
        write_test(write, '"Every Monday."', '["Every Monday."]', "FAQ")
    )
    assert stays.status == "passed", stays.message
    assert "states.FAQ.llm_unanswered" not in stays.fired
    [coverage] = coverage_by_flow([stays])
    assert "states.FAQ.llm_unanswered" in coverage.missed_transitions
    wrong = await run_conversation_test(
        write_test(write, '"Every Monday."', '["Every Monday."]', "HANDOFF_ASK")
    )
    assert wrong.status == "failed"
    assert "HANDOFF_ASK" in wrong.message and "FAQ" in wrong.message


def test_botfleet_test_coverage_names_an_llm_unanswered_no_test_exercised(
    write: Write, invoke: Invoke
) -> None:
    case = write_test(write, '"Every Monday."', '["Every Monday."]', "FAQ")
    result = invoke("test", case, "--coverage")
    assert result.exit_code == 0, result.output
    assert f"states.FAQ.llm_unanswered  ({case.parent / 'school.yaml'}:8)" in result.stdout


async def test_the_school_example_test_passes_and_covers_it() -> None:
    result = await run_conversation_test(REPO / "tests/conversations/llm_unanswered.yaml")
    assert result.status == "passed", result.message
    assert result.fired.count("states.MENU.llm_unanswered") == 2
    [coverage] = coverage_by_flow([result])
    assert coverage.missed_states == []
    assert "states.MENU.llm_unanswered" not in coverage.missed_transitions
