"""`version_changes(live, new)`: what publishing `new` in place of `live` does to the contacts
`live` is serving, computed from the two flows alone."""

from __future__ import annotations

from botfleet.flows.version_changes import VersionChange, version_changes
from botfleet.testing.engine import flow_from_yaml

LIVE = """\
id: salon
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Menu"
        buttons: [{id: book, title: Book}]
    transitions:
      - {on_payload: book, target: ASK_DAY}
    fallback: MENU
  ASK_DAY:
    on_enter: [{action: send_text, text: "Which day?"}]
    transitions:
      - {on_type: text, target: BOOKED, set_data: {day: "{{ message.text }}"}}
  BOOKED:
    on_enter:
      - {action: send_text, text: "Booked for {{ data.day }}"}
      - action: schedule_task
        task: reminder
        delay: 24h
        data: {day: "{{ data.day }}"}
    next: MENU
tasks:
  reminder:
    - {action: send_text, text: "See you on {{ data.day }}"}
"""

LATER_SCHEDULES = "      - {action: schedule_task, task: reminder, delay: 1h}\n"
#: Two places schedule the reminder; only one carries `day`, and no transition sets it.
LIVE_WITH_LATER = """\
id: salon
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Menu"
        buttons: [{id: book, title: Book}, {id: later, title: Later}]
    transitions:
      - {on_payload: book, target: BOOKED}
      - {on_payload: later, target: LATER}
    fallback: MENU
  BOOKED:
    on_enter:
      - action: schedule_task
        task: reminder
        delay: 24h
        data: {day: Friday}
    next: MENU
  LATER:
    on_enter:
      - {action: schedule_task, task: reminder, delay: 1h}
    next: MENU
tasks:
  reminder:
    - {action: send_text, text: "See you soon"}
"""


def changes(live: str, new: str) -> list[tuple[str, str]]:
    found = version_changes(flow_from_yaml(live), flow_from_yaml(new))
    return [(change.code, change.path) for change in found]


def test_the_same_flow_changes_nothing() -> None:
    assert changes(LIVE, LIVE) == []


def test_a_renamed_question_warns_that_contacts_in_it_restart_at_the_initial_state() -> None:
    new = LIVE.replace("ASK_DAY", "ASK_DATE")
    [change] = version_changes(flow_from_yaml(LIVE), flow_from_yaml(new))
    assert (change.code, change.path) == ("state_removed", "states.ASK_DAY")
    assert change.message.startswith("contacts waiting in it restart at MENU")
    assert str(change).startswith("states.ASK_DAY: contacts waiting in it restart at MENU")


def test_the_initial_state_named_is_the_new_versions() -> None:
    new = LIVE.replace("ASK_DAY", "ASK_DATE").replace("MENU", "HOME")
    found = version_changes(flow_from_yaml(LIVE), flow_from_yaml(new))
    assert [c.path for c in found] == ["states.MENU", "states.ASK_DAY"]
    assert all("restart at HOME" in c.message for c in found)


def test_a_state_that_moves_on_at_once_holds_nobody_so_removing_it_warns_of_nothing() -> None:
    new = LIVE.replace("target: BOOKED", "target: CONFIRMED").replace("BOOKED:", "CONFIRMED:")
    assert changes(LIVE, new) == []  # BOOKED has `next: MENU`


def test_a_removed_task_warns_that_its_pending_reminders_send_nothing() -> None:
    new = LIVE.replace("task: reminder", "task: nudge").replace("  reminder:", "  nudge:")
    [change] = version_changes(flow_from_yaml(LIVE), flow_from_yaml(new))
    assert (change.code, change.path) == ("task_removed", "tasks.reminder")
    assert "pending reminders of this task will send nothing" in change.message
    assert "GET /tasks?task=reminder" in change.message


def test_a_task_only_standing_schedules_run_is_removed_without_a_warning() -> None:
    standing = (
        LIVE
        + "  digest: [{action: send_text, text: Digest}]\n"
        + "standing_schedules:\n  - {task: digest, cron: '0 9 * * *'}\n"
    )
    assert changes(standing, LIVE) == []


def test_a_key_the_task_now_reads_that_old_reminders_lack_renders_empty() -> None:
    new = LIVE.replace(
        'text: "See you on {{ data.day }}"',
        'text: "See you on {{ data.day }} with {{ data.stylist }}"',
    ).replace('data: {day: "{{ data.day }}"}', 'data: {day: "{{ data.day }}", stylist: Ana}')
    [change] = version_changes(flow_from_yaml(LIVE), flow_from_yaml(new))
    assert change == VersionChange(
        "task_data_missing",
        "tasks.reminder[0]",
        change.message,
    )
    assert change.message.startswith("reads data.stylist, which reminders the live version")
    assert "{{ data.stylist | default('...') }}" in change.message


def test_a_key_the_live_version_keeps_in_the_contacts_data_is_not_missing() -> None:
    # `day` is set by a transition: contacts served by the live version have it.
    new = LIVE.replace('data: {day: "{{ data.day }}"}', "data: {}")
    assert changes(LIVE, new) == []


def test_guarded_reads_of_a_new_key_are_not_reported() -> None:
    for text in (
        "{{ data.stylist | default('our team') }}",
        "{{ data['stylist'] | d('our team') }}",
        "{% if data.stylist %}with {{ data.stylist }}{% endif %}",
        "{{ 'with ' ~ data.stylist if data.stylist is defined else '' }}",
    ):
        new = LIVE.replace('text: "See you on {{ data.day }}"', f'text: "{text}"')
        assert changes(LIVE, new) == [], text


def test_a_read_by_subscript_and_a_nested_read_count_by_their_first_key() -> None:
    new = LIVE.replace(
        'text: "See you on {{ data.day }}"',
        "text: \"{{ data['stylist'] }} {{ data.booking.slot }}\"",
    )
    assert changes(LIVE, new) == [
        ("task_data_missing", "tasks.reminder[0]"),
        ("task_data_missing", "tasks.reminder[0]"),
    ]
    found = version_changes(flow_from_yaml(LIVE), flow_from_yaml(new))
    assert [c.message.split(",")[0] for c in found] == ["reads data.booking", "reads data.stylist"]


def test_a_key_the_task_sets_itself_is_not_missing() -> None:
    new = LIVE.replace(
        '    - {action: send_text, text: "See you on {{ data.day }}"}',
        "    - {action: set_data, values: {greeting: Hi}}\n"
        '    - {action: send_text, text: "{{ data.greeting }}, see you on {{ data.day }}"}',
    )
    assert changes(LIVE, new) == []


def test_a_key_only_some_schedulers_carry_is_missing_from_the_others_reminders() -> None:
    live = LIVE_WITH_LATER
    new = live.replace('text: "See you soon"', 'text: "See you on {{ data.day }}"')
    assert changes(live, new) == [("task_data_missing", "tasks.reminder[0]")]
    later_says_ok = "      - {action: send_text, text: OK}\n"
    unscheduled = (live, new)
    live, new = (f.replace(LATER_SCHEDULES, later_says_ok) for f in unscheduled)
    assert changes(live, new) == []  # every reminder carries `day`


def test_a_key_the_live_task_already_read_is_no_change() -> None:
    live = LIVE_WITH_LATER.replace('text: "See you soon"', 'text: "See you on {{ data.day }}"')
    assert changes(live, live.replace("See you on", "See you soon on")) == []


def test_removed_states_come_before_removed_tasks() -> None:
    new = (
        LIVE.replace("ASK_DAY", "ASK_DATE")
        .replace("task: reminder", "task: nudge")
        .replace("  reminder:", "  nudge:")
    )
    assert changes(LIVE, new) == [
        ("state_removed", "states.ASK_DAY"),
        ("task_removed", "tasks.reminder"),
    ]
