"""TaskFired: a due task runs its actions in the contact's conversation."""

from __future__ import annotations

from pathlib import Path

from botfleet.domain.errors import ConnectorUnavailable
from botfleet.domain.outputs import Buttons, Text
from botfleet.flows import effects
from botfleet.flows.events import ConnectorFailed, ConnectorReplied, TaskFired
from botfleet.flows.state import Resume
from botfleet.flows.turn import DEFAULT_ERROR_TEXT
from botfleet.testing.engine import Answer, Conversation, answer_with, flow_from_file

FLOW = flow_from_file(Path(__file__).parents[2] / "fixtures/flows/engine/tasks.yaml")


def at_menu(answer: Answer | None = None) -> Conversation:
    chat = Conversation(FLOW, answer=answer).with_data(service="Stored service")
    chat.send("hi")
    return chat


def test_a_task_runs_its_actions_with_carried_data_visible_but_not_stored() -> None:
    chat = at_menu()
    exchange = chat.fire_task("reminder", {"service": "Haircut", "time": "10:30"})
    assert exchange.outputs == (Text("Reminder: Haircut at 10:30"),)
    assert exchange.fired == ("tasks.reminder",)
    assert exchange.state.data["service"] == "Stored service"
    assert "time" not in exchange.state.data
    assert exchange.state.node == "MENU"


def test_a_task_keeps_the_state_and_its_text_ends_what_typing_answers_of_the_menu() -> None:
    """After a reminder's text, a "1" or "yes" typed answers the reminder, not the menu sent
    before it (a "Yes, cancel it" left unanswered would cancel); the menu's buttons, pressed,
    still work."""
    chat = at_menu()
    exchange = chat.fire_task("reminder", {"service": "X", "time": "Y"})
    assert exchange.state.node == "MENU"
    assert exchange.state.last_options == ()
    assert chat.send("1").entered[0] == "MENU"  # the fallback: asked again
    chat.fire_task("reminder", {"service": "X", "time": "Y"})
    assert chat.press("yes").entered[0] == "DONE"


def test_a_task_that_sends_nothing_keeps_the_options_the_contact_was_shown() -> None:
    chat = at_menu()
    options = chat.state.last_options
    exchange = chat.fire_task("chain", {"event_id": "e1", "service": "X"})
    assert exchange.outputs == ()
    assert exchange.state.last_options == options
    assert chat.send("1").entered[0] == "DONE"


def test_set_data_in_a_task_is_stored_and_wins_over_carried_data() -> None:
    exchange = at_menu().fire_task("remember", {"note": "carried", "other": "carried"})
    assert exchange.state.data["note"] == "set by the task"
    assert "other" not in exchange.state.data
    assert exchange.texts == ["note=set by the task other=carried"]


def test_a_task_can_offer_options_that_the_next_message_answers() -> None:
    chat = at_menu()
    exchange = chat.fire_task("confirm")
    assert isinstance(exchange.outputs[0], Buttons)
    assert chat.send("1").entered[0] == "DONE"


def test_an_unknown_task_gives_a_diagnostic_and_nothing_else() -> None:
    chat = at_menu()
    before = chat.state
    exchange = chat.fire_task("no_such_task", {"x": 1})
    assert exchange.outputs == ()
    assert exchange.effects == ()
    [diagnostic] = exchange.diagnostics
    assert (diagnostic.level, diagnostic.event) == ("error", "unknown_task")
    assert diagnostic.where == "tasks.no_such_task"
    assert exchange.state.node == before.node
    assert exchange.state.data == before.data


def test_a_task_with_a_connector_call_resumes_with_its_carried_data() -> None:
    chat = at_menu()
    exchange = chat.fire_task("check", {"event_id": "ev7"})
    [call] = exchange.calls
    assert call.params == {"event_id": "ev7"}
    awaiting = exchange.state.awaiting
    assert isinstance(awaiting, Resume)
    assert (awaiting.kind, awaiting.name, awaiting.index) == ("task", "check", 1)
    assert awaiting.overlay == {"event_id": "ev7"}
    resumed = chat.resume(ConnectorReplied(call.request_id, {"status": "confirmed"}))
    assert resumed.texts == ["ev7 is confirmed"]
    assert resumed.state.data["appointment"] == {"status": "confirmed"}
    assert "event_id" not in resumed.state.data
    assert resumed.state.node == "MENU"
    assert resumed.state.awaiting is None


def test_a_failed_call_in_a_task_without_on_error_apologises_and_stays() -> None:
    chat = at_menu()
    [call] = chat.fire_task("check", {"event_id": "ev7"}).calls
    exchange = chat.resume(ConnectorFailed(call.request_id, "unavailable"))
    assert exchange.outputs == (Text(DEFAULT_ERROR_TEXT),)
    assert exchange.state.node == "MENU"
    assert exchange.diagnostics[0].where == "tasks.check[0]"


def test_a_failed_call_in_a_task_can_route_to_a_state() -> None:
    chat = at_menu(answer_with({"get_event": ConnectorUnavailable("down")}))
    exchange = chat.fire_task("check_or_apologise", {"event_id": "ev7"})
    assert exchange.texts == ["@SORRY ev7", "Menu"]
    assert exchange.entered == ("SORRY", "MENU")


def test_a_task_can_schedule_and_cancel_tasks() -> None:
    exchange = at_menu().fire_task("chain", {"event_id": "ev7"})
    schedule, cancel = exchange.effects
    assert isinstance(schedule, effects.ScheduleTask)
    assert (schedule.task, schedule.idempotency_key, schedule.data) == (
        "reminder",
        "again:ev7",
        {"service": "Stored service", "time": "later"},
    )
    assert cancel == effects.CancelTask("old:ev7", "contact-1")


def test_a_task_for_a_contact_in_a_removed_state_runs_from_the_initial_state() -> None:
    chat = Conversation(FLOW).at("GONE")
    exchange = chat.dispatch(TaskFired("reminder", {"service": "A", "time": "B"}))
    assert exchange.texts == ["Reminder: A at B"]
    assert exchange.state.node == "MENU"
    assert exchange.diagnostic_events() == ["state_reset"]
