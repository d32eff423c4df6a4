"""`version_changes` stays small whatever the two flows: a tenant writes both, and the list is
answered, stored in the audit entry and printed. A count past `MAX_LISTED_CHANGES` is summed
up in one `more_changes`, and long names are cut (a state_removed quotes the new flow's
`initial_state`, so thousands of them quoting a 100 kB name would answer gigabytes)."""

from __future__ import annotations

from botfleet.flows.version_changes import MAX_LISTED_CHANGES, MAX_QUOTED_NAME, version_changes
from botfleet.testing.engine import flow_from_yaml


def _waiting_states(count: int) -> str:
    """A flow whose MENU leads to `count` states that wait for an answer."""
    transitions = "".join(f"      - {{on_payload: p{i}, target: S{i}}}\n" for i in range(count))
    states = "".join(f"  S{i}: {{fallback: MENU}}\n" for i in range(count))
    return (
        "id: salon\ninitial_state: MENU\nstates:\n  MENU:\n    transitions:\n"
        f"{transitions}    fallback: MENU\n{states}"
    )


def test_changes_past_the_limit_are_counted_in_one_last_entry() -> None:
    removed = MAX_LISTED_CHANGES + 50
    live = flow_from_yaml(_waiting_states(removed))
    new = flow_from_yaml("id: salon\ninitial_state: MENU\nstates:\n  MENU: {fallback: MENU}\n")

    found = version_changes(live, new)

    assert len(found) == MAX_LISTED_CHANGES + 1
    assert {c.code for c in found[:-1]} == {"state_removed"}
    assert [c.path for c in found[:2]] == ["states.S0", "states.S1"]  # the first ones, in order
    more = found[-1]
    assert (more.code, more.path) == ("more_changes", "flow")
    assert more.message.startswith("50 more changes are not listed (50 state_removed)")


def test_up_to_the_limit_every_change_is_listed() -> None:
    live = flow_from_yaml(_waiting_states(MAX_LISTED_CHANGES))
    new = flow_from_yaml("id: salon\ninitial_state: MENU\nstates:\n  MENU: {fallback: MENU}\n")

    found = version_changes(live, new)

    assert len(found) == MAX_LISTED_CHANGES
    assert "more_changes" not in {c.code for c in found}


def test_long_state_and_initial_state_names_are_cut_in_paths_and_messages() -> None:
    long_state, long_initial = "Q" * 10_000, "H" * 10_000
    # `? key` / `: value`: YAML's plain keys stop at 1024 characters, explicit ones do not.
    live = flow_from_yaml(
        f"id: salon\ninitial_state: MENU\nstates:\n"
        f"  MENU:\n    transitions:\n      - {{on_payload: q, target: {long_state}}}\n"
        f"    fallback: MENU\n  ? {long_state}\n  : {{fallback: MENU}}\n"
    )
    new = flow_from_yaml(
        f"id: salon\ninitial_state: {long_initial}\nstates:\n"
        f"  ? {long_initial}\n  : {{fallback: MENU}}\n  MENU: {{fallback: MENU}}\n"
    )

    found = version_changes(live, new)

    [cut] = found
    assert cut.code == "state_removed"
    assert cut.path == f"states.{'Q' * (MAX_QUOTED_NAME - 1)}…"
    assert f"restart at {'H' * (MAX_QUOTED_NAME - 1)}…:" in cut.message
    assert len(cut.path) + len(cut.message) < 600


def test_long_task_names_and_data_keys_are_cut() -> None:
    long_task, long_key = "t" * 5_000, "k" * 5_000
    live = flow_from_yaml(
        "id: salon\ninitial_state: MENU\nstates:\n  MENU:\n    on_enter:\n"
        f"      - {{action: schedule_task, task: {long_task}, delay: 1h}}\n"
        "    transitions:\n      - {on_type: text, target: MENU}\n    fallback: MENU\n"
        f"tasks:\n  ? {long_task}\n  : - {{action: send_text, text: hi}}\n"
    )
    new = flow_from_yaml(
        "id: salon\ninitial_state: MENU\nstates:\n  MENU:\n    on_enter:\n"
        f"      - {{action: schedule_task, task: {long_task}, delay: 1h}}\n"
        "    transitions:\n      - {on_type: text, target: MENU}\n    fallback: MENU\n"
        f'tasks:\n  ? {long_task}\n  : - {{action: send_text, text: "{{{{ data.{long_key} }}}}"}}\n'
    )

    [change] = version_changes(live, new)

    assert change.code == "task_data_missing"
    assert change.path == f"tasks.{'t' * (MAX_QUOTED_NAME - 1)}…[0]"
    assert change.message.startswith(f"reads data.{'k' * (MAX_QUOTED_NAME - 1)}…, which")
    assert len(change.message) < 600
