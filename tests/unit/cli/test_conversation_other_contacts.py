"""Two contacts in one conversation test: what the bot sends the contact a step is not done as
(their reminder falling due in someone else's `wait`) is checked with `sent_to`, shown when the
step fails, and its menus are what that contact presses next; a failed `wait` says the time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from botfleet.cli.schemas import conversation_test_json_schema
from botfleet.testing.conversation import ConversationResult, run_conversation_test

#: `visit` schedules a survey an hour later; the survey's buttons are answered anywhere.
FLOW = """\
id: survey_v1
initial_state: MENU
tasks:
  survey:
    - action: send_interactive_buttons
      body: "How was your visit, {{ contact.id }}?"
      buttons:
        - {id: rate_good, title: "Good"}
        - {id: rate_bad, title: "Bad"}
global_transitions:
  - on_payload_prefix: "rate_"
    extract_suffix_as: rating
    target: THANKS
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Hi"
        buttons:
          - {id: visit, title: "I visited"}
    transitions:
      - on_payload: visit
        target: VISITED
    fallback: MENU
  VISITED:
    on_enter:
      - action: send_text
        text: "Thanks for coming"
      - action: schedule_task
        task: survey
        delay: DELAY
    next: MENU
  THANKS:
    on_enter:
      - action: send_text
        text: "Thanks for rating {{ data.rating }}"
    next: MENU
"""

#: Ana (the test's contact) then Bea both visit at 09:00 on Friday 29 March 2024, Madrid.
VISITS = """\
flow: flow.yaml
clock: 2024-03-29T09:00
contact: {id: ana}
steps:
  - say: hi
  - press: visit
  - contact: bea
    say: hi
  - contact: bea
    press: visit
"""

Run = Callable[..., Awaitable[ConversationResult]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    async def run_test(steps: str, *, delay: str = "1h") -> ConversationResult:
        (tmp_path / "flow.yaml").write_text(FLOW.replace("DELAY", delay), encoding="utf-8")
        path = tmp_path / "case.yaml"
        path.write_text(VISITS + steps, encoding="utf-8")
        return await run_conversation_test(path)

    return run_test


async def test_sent_to_checks_another_contacts_reminder_in_the_same_wait(run: Run) -> None:
    result = await run(
        "  - wait: 2h\n"
        "    expect: [{text: 'How was your visit, ana?'}]\n"
        "    sent_to:\n"
        "      bea: [{text: 'How was your visit, bea?', buttons: [rate_good, rate_bad]}]\n"
    )
    assert result.passed, result.message


async def test_sent_to_names_the_contact_whose_output_differs(run: Run) -> None:
    result = await run("  - wait: 2h\n    sent_to: {bea: 'How was your visit, Bea?', carl: []}\n")
    assert result.status == "failed"
    assert "  sent_to bea: output 1 text:\n" in result.message
    assert "expected 'How was your visit, Bea?'\n" in result.message
    assert "sent_to carl" not in result.message  # nothing sent to carl, as written


async def test_sent_to_counts_every_output_of_the_contact(run: Run) -> None:
    result = await run("  - wait: 2h\n    sent_to: {bea: []}\n")
    assert result.status == "failed"
    assert "sent_to bea: expected 0 output(s), the bot sent 1" in result.message


async def test_a_failed_step_shows_what_other_contacts_were_sent(run: Run) -> None:
    # Only ana's outputs used to be shown: bea's survey, sent in the same wait, was nowhere.
    result = await run("  - wait: 2h\n    expect: []\n")
    assert result.status == "failed"
    assert result.message.endswith(
        "  the bot sent on webchat:\n"
        "    1) [buttons] How was your visit, ana?\n"
        "         1. Good  (rate_good)\n"
        "         2. Bad  (rate_bad)\n"
        "  the bot also sent 'bea' (check with sent_to):\n"
        "    1) [buttons] How was your visit, bea?\n"
        "         1. Good  (rate_good)\n"
        "         2. Bad  (rate_bad)"
    )


async def test_a_menu_sent_during_another_contacts_wait_can_be_pressed(run: Run) -> None:
    # Bea's survey came in ana's wait: pressing it failed as "sent as numbered text".
    result = await run(
        "  - wait: 2h\n"
        "  - contact: bea\n"
        "    press: rate_good\n"
        "    expect: ['Thanks for rating good', {type: buttons}]\n"
    )
    assert result.passed, result.message


async def test_a_failed_wait_says_the_time_in_the_tenants_zone_across_dst(run: Run) -> None:
    # 48 real hours from Friday 09:00 (+01:00) over the night summer time begins: 10:00 Sunday,
    # which is what an author compares a reminder "the day before at 10:00" with.
    result = await run("  - wait: 2d\n    expect: [surveyed]\n", delay="3d")
    assert result.status == "failed"
    assert result.message.splitlines()[1:3] == [
        "  expected 1 output(s), the bot sent 0",
        "  the clock now reads Sun 31 Mar 2024 10:00 (+02:00, Europe/Madrid)",
    ]


async def test_only_a_failed_wait_says_the_time(run: Run) -> None:
    result = await run("  - say: hi\n    expect: []\n")
    assert result.status == "failed"
    assert "the clock now reads" not in result.message


async def test_a_contact_id_written_as_a_number_is_its_text(tmp_path: Path) -> None:
    (tmp_path / "flow.yaml").write_text(FLOW.replace("DELAY", "1h"), encoding="utf-8")
    path = tmp_path / "case.yaml"
    path.write_text(
        VISITS.replace("bea", '"34600111222"')
        + "  - wait: 2h\n    sent_to:\n      34600111222: [{contains: '34600111222'}]\n",
        encoding="utf-8",
    )
    result = await run_conversation_test(path)
    assert result.passed, result.message


def test_the_schema_takes_sent_to_as_contacts_to_outputs() -> None:
    step = conversation_test_json_schema()["$defs"]["StepSpec"]["properties"]
    mapping, none = step["sent_to"]["anyOf"]
    assert none == {"type": "null"}
    assert mapping["type"] == "object"
    items = mapping["additionalProperties"]["anyOf"]
    assert {"type": "null"} not in items  # a contact's list is never null
    assert {"$ref": "#/$defs/OutputExpectation"} in items
