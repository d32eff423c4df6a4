"""A job an older flow version scheduled runs under the version live when it falls due: the task
of that name as that version defines it, with the data carried in the job; a task that version
no longer has sends nothing, and the diagnostic names the flow, the task and the run."""

from __future__ import annotations

from botfleet.flows.events import TaskFired
from botfleet.testing.engine import Conversation, flow_from_yaml

V2 = """\
id: salon
initial_state: MENU
tasks:
  appointment_reminder:
    - {action: send_text, text: "See you at {{ data.time }}, {{ data.stylist }} is ready"}
states:
  MENU:
    on_enter: [{action: send_text, text: "Menu"}]
    fallback: MENU
"""
FLOW_V2 = flow_from_yaml(V2)


def test_a_job_for_a_task_the_flow_no_longer_has_names_the_flow_task_and_run() -> None:
    chat = Conversation(FLOW_V2)
    chat.send("hola")
    exchange = chat.dispatch(TaskFired("reminder", {"time": "11:00"}, job_id="once:r:1@T11"))
    assert exchange.outputs == ()
    [unknown] = exchange.diagnostics
    assert (unknown.level, unknown.event, unknown.where) == (
        "error",
        "unknown_task",
        "tasks.reminder",
    )
    assert unknown.detail == "flow 'salon' has no task 'reminder'; run 'once:r:1@T11' sent nothing"


def test_a_key_v2s_task_reads_that_the_job_never_carried_renders_empty_with_a_warning() -> None:
    chat = Conversation(FLOW_V2)
    chat.send("hola")
    # A job v1 scheduled under the name v2 kept, carrying only what v1 put in it.
    exchange = chat.fire_task("appointment_reminder", {"time": "11:00"})
    assert exchange.texts == ["See you at 11:00,  is ready"]
    assert [(d.event, d.where) for d in exchange.diagnostics] == [
        ("template_missing_value", "tasks.appointment_reminder[0].text")
    ]


def test_a_key_the_job_lacks_is_read_from_the_contacts_data() -> None:
    chat = Conversation(FLOW_V2).with_data(stylist="Lucia")
    chat.send("hola")
    exchange = chat.fire_task("appointment_reminder", {"time": "11:00"})
    assert exchange.texts == ["See you at 11:00, Lucia is ready"]
