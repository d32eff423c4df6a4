"""The weekly broadcast of docs/scheduler.md ("A weekly message to every subscriber"), run as
written with `botfleet test`: each subscriber's task schedules its own next run a week on, a
STOP cancels it, and a STOP whose `cancel_task` is missing is still caught by the tasks'
`when:` guard, also across a `session_timeout` (the flag is in `session_keeps`). A recipe that
rescheduled for `'sunday'` would loop; one without the guard would write to a contact who
said STOP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from botfleet.testing.conversation import run_conversation_test

SCHEDULER = Path(__file__).resolve().parents[3] / "docs" / "scheduler.md"

OFFERS = "This week's offers: ..."

#: Wednesday 10:00: the first Sunday 18:00 is 4 days 8 hours on.
SUBSCRIBE_AND_STOP = f"""
name: weekly, then STOP
flow: flow.yaml
clock: 2024-05-08T10:00:00+02:00
steps:
  - say: hola
  - press: subscribe
    tasks: [weekly]
  - wait: 4d7h59m
    expect: []
  - wait: 1m
    expect: ["{OFFERS}"]
    tasks: [weekly]
  - wait: 7d
    expect: ["{OFFERS}"]
    tasks: [weekly]
  - press: subscribe                 # again: the same job, moved, not a second one
    tasks: [weekly]
  - say: STOP
    tasks: []
  - wait: 14d
    expect: []
"""

#: Sunday morning: "next sunday" is a week on, not this evening.
SUBSCRIBE_ON_SUNDAY = f"""
name: subscribed on a Sunday
flow: flow.yaml
clock: 2024-05-12T10:00:00+02:00
steps:
  - say: hola
  - press: subscribe
  - wait: 1d
    expect: []
  - wait: 6d8h
    expect: ["{OFFERS}"]
"""

#: The flow without its `cancel_task`: the guard alone, after the session has timed out.
GUARD_ONLY = """
name: the guard alone stops the chain
flow: flow.yaml
clock: 2024-05-08T10:00:00+02:00
steps:
  - say: hola
  - press: subscribe
  - say: STOP
    tasks: [weekly]
  - wait: 1d                         # past session_timeout: the next message empties data
  - say: hola
  - wait: 4d
    expect: []
    tasks: []
  - wait: 7d
    expect: []
"""


def recipe_flow() -> str:
    """The section's flow, as a flow file."""
    text = SCHEDULER.read_text(encoding="utf-8")
    section = text.split("### A weekly message to every subscriber\n", 1)[1]
    found = re.search(r"```yaml\n(.*?)```", section.split("\n### ", 1)[0], re.DOTALL)
    assert found, "docs/scheduler.md lost its weekly broadcast example"
    return "id: weekly_offers\ninitial_state: MENU\n" + found.group(1)


@pytest.mark.parametrize(
    ("test", "cancel"),
    [(SUBSCRIBE_AND_STOP, True), (SUBSCRIBE_ON_SUNDAY, True), (GUARD_ONLY, False)],
    ids=["subscribe-and-stop", "subscribe-on-sunday", "guard-only"],
)
async def test_the_weekly_recipe_runs_as_the_docs_say(
    tmp_path: Path, test: str, cancel: bool
) -> None:
    flow = recipe_flow()
    if not cancel:
        cancel_action = (
            '      - action: cancel_task\n        idempotency_key: "weekly:{{ contact.id }}"\n'
        )
        assert cancel_action in flow
        flow = flow.replace(cancel_action, "")
    (tmp_path / "flow.yaml").write_text(flow, encoding="utf-8")
    (tmp_path / "test.yaml").write_text(test, encoding="utf-8")
    result = await run_conversation_test(tmp_path / "test.yaml")
    assert result.passed, result.message
