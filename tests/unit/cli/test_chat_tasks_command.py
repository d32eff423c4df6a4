"""`botfleet chat`'s `:tasks`: the pending scheduled jobs of the chat's contact and the standing
schedules, as `botfleet cp tasks list` has them (task, due time, key, data), due times on the
tenant's clock; and the line a task not scheduled (its time already past) shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cli_helpers import Invoke

# Europe/Madrid: the due times are shown at +02:00 (CEST), the jobs being kept in UTC.
TENANT = """\
tenant_id: clinic
name: Clinic
timezone: Europe/Madrid
language: en
flow_path: flow.yaml
channel: {type: webchat}
"""

FLOW = """\
id: tasks_v1
initial_state: HOME
standing_schedules:
  morning_digest: {task: digest, cron: "0 9 * * 1-5", contact_id: ops}
tasks:
  reminder:
    - action: send_text
      text: "Reminder: {{ data.service }} at {{ data.time }}"
  digest:
    - action: send_text
      text: digest
global_transitions:
  - condition: "message.text == 'book'"
    target: BOOKED
  - condition: "message.text == 'today'"
    target: SAME_DAY
states:
  HOME:
    on_enter: [{action: send_text, text: home}]
    fallback: HOME
  BOOKED:
    on_enter:
      - action: schedule_task
        task: reminder
        delay: 2h
        idempotency_key: "reminder:{{ contact.id }}"
        data: {service: "Cleaning", time: "11:00", "note": "señal"}
      - action: send_text
        text: booked
    fallback: HOME
  SAME_DAY:
    on_enter:
      - action: schedule_task
        task: reminder
        run_at: "2024-05-06T04:00"
        run_late_within: 3h
        idempotency_key: "same-day"
      - action: send_text
        text: booked today
    fallback: HOME
"""

MONDAY = ("--at", "2024-05-06T09:00")  # 07:00 UTC


def _tenant(write: Callable[[str, str], Path]) -> Path:
    write("flow.yaml", FLOW)
    return write("tenant.yaml", TENANT)


def test_tasks_lists_the_pending_jobs_with_due_time_key_and_data(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    tenant = _tenant(write)
    result = invoke("chat", tenant, *MONDAY, "--contact", "ana", input="book\n:tasks\n")
    assert result.exit_code == 0, result.output
    assert (
        "you> :tasks\n"
        "pending tasks (2, soonest first):\n"
        "  reminder  due 2024-05-06T11:00:00+02:00 (in 2h)\n"
        "    key: reminder:ana\n"
        '    data: {"note": "señal", "service": "Cleaning", "time": "11:00"}\n'
        "  digest  due 2024-05-07T09:00:00+02:00 (in 1d)  [standing schedule]\n"
        "    schedule: morning_digest\n"
        "    contact: ops\n"
        "    data: {}\n"
    ) in result.stdout


def test_tasks_follows_the_clock_and_empties_once_the_reminder_ran(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    tenant = _tenant(write)
    script = "book\n:wait 90m\n:tasks\n:wait 30m\n:tasks\n"
    result = invoke("chat", tenant, *MONDAY, "--contact", "ana", input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "  reminder  due 2024-05-06T11:00:00+02:00 (in 30m)\n" in out
    assert "bot> Reminder: Cleaning at 11:00\n" in out
    after = out.split("(now 2024-05-06T11:00:00+02:00)", 1)[1]
    assert "pending tasks (1, soonest first):\n  digest  due" in after
    assert "reminder:ana" not in after


def test_tasks_without_any_pending_job_says_so(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    flow = write("plain.yaml", "id: p\ninitial_state: A\nstates:\n  A: {fallback: A}\n")
    result = invoke("chat", flow, *MONDAY, input=":tasks\n:tasks all\n:help\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "you> :tasks\n(no pending tasks)\n" in out
    assert "you> :tasks all\nerror: :tasks takes no argument" in out
    assert "  :tasks            the pending scheduled tasks" in out


def test_a_task_whose_time_had_passed_says_which_window_applied(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    tenant = _tenant(write)
    result = invoke("chat", tenant, *MONDAY, input="today\n:tasks\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert (
        "! schedule_task 'reminder' (key 'same-day'): its time 2024-05-06T04:00+02:00 had "
        "passed 5h ago when it was scheduled, beyond the data plane's misfire grace window "
        "(DP_SCHEDULER_GRACE_S, 5m): not scheduled (its run_late_within of 3h is for a run a "
        "restart or an outage delays, not for a time already past when it is scheduled)\n"
        "bot> booked today\n"
    ) in out
    assert "key: same-day" not in out  # not pending
