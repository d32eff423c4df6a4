"""A `schedule_task` `delay` counts from the moment the turn stands for (`step`'s
`delay_from`: the message's reception, the task run's moment), not from the clock, so a turn run
again after a crash asks for the same due time. Templates' `now` stays the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from botfleet.domain.outputs import Text
from botfleet.flows import effects
from botfleet.flows.engine import StepContext, StepResult, TenantInfo, start_state, step
from botfleet.flows.events import ConnectorReplied, Event, MessageReceived, TaskFired
from botfleet.flows.state import ConversationState
from botfleet.testing.engine import button, flow_from_yaml

MADRID = ZoneInfo("Europe/Madrid")
CTX = StepContext(tenant=TenantInfo(id="t", timezone="Europe/Madrid"))
#: The message was received at 09:00; its turn runs (or runs again) at 09:20.
RECEIVED = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
NOW = RECEIVED + timedelta(minutes=20)

FLOW = flow_from_yaml(
    """
    id: delays
    initial_state: IDLE
    tasks:
      nudge:
        - {action: schedule_task, task: ping, delay: 1h, idempotency_key: again}
      ping:
        - {action: send_text, text: ping}
    states:
      IDLE:
        transitions:
          - {on_payload: remind, target: REMIND}
          - {on_payload: book, target: BOOK}
      REMIND:
        on_enter:
          - {action: send_text, text: "now {{ now.isoformat() }}"}
          - {action: schedule_task, task: ping, delay: 30m, idempotency_key: r}
        next: IDLE
      BOOK:
        on_enter:
          - action: invoke_connector
            connector: calendar
            operation: book_appointment
            params: {}
            result_key: booking
          - {action: schedule_task, task: ping, delay: 30m, idempotency_key: b}
        next: IDLE
    """
)


def fresh() -> ConversationState:
    return start_state(FLOW, "t", "contact-1", RECEIVED)


def scheduled(result: StepResult) -> list[datetime]:
    return [e.run_at for e in result.effects if isinstance(e, effects.ScheduleTask)]


def run(event: Event, now: datetime, delay_from: datetime | None = None) -> StepResult:
    return step(FLOW, fresh(), event, now, CTX, delay_from=delay_from)


def test_a_delay_counts_from_the_given_moment_not_from_now() -> None:
    result = run(MessageReceived(button("remind")), NOW, delay_from=RECEIVED)
    assert scheduled(result) == [RECEIVED + timedelta(minutes=30)]


def test_the_same_turn_run_later_asks_for_the_same_due_time() -> None:
    first = run(MessageReceived(button("remind")), NOW, delay_from=RECEIVED)
    again = run(MessageReceived(button("remind")), NOW + timedelta(hours=3), delay_from=RECEIVED)
    assert scheduled(first) == scheduled(again)


def test_templates_now_is_still_the_clock() -> None:
    result = run(MessageReceived(button("remind")), NOW, delay_from=RECEIVED)
    assert result.outputs[0] == Text(f"now {NOW.astimezone(MADRID).isoformat()}")
    assert result.state.updated_at == NOW


def test_without_a_moment_a_delay_counts_from_now() -> None:
    assert scheduled(run(MessageReceived(button("remind")), NOW)) == [NOW + timedelta(minutes=30)]


def test_a_delay_after_a_connector_call_counts_from_the_turns_moment() -> None:
    """The step that the connector's answer resumes is given the same moment, minutes later."""
    first = run(MessageReceived(button("book")), NOW, delay_from=RECEIVED)
    [call] = [e for e in first.effects if isinstance(e, effects.CallConnector)]
    later = NOW + timedelta(minutes=5)
    resumed = step(
        FLOW, first.state, ConnectorReplied(call.request_id, {}), later, CTX, delay_from=RECEIVED
    )
    assert scheduled(resumed) == [RECEIVED + timedelta(minutes=30)]


def test_a_task_counts_its_delays_from_its_run() -> None:
    due = RECEIVED + timedelta(hours=2)
    result = run(
        TaskFired("nudge", job_id="once:x@20240108T110000Z"),
        NOW + timedelta(hours=2, minutes=3),
        due,
    )
    assert scheduled(result) == [due + timedelta(hours=1)]


def test_the_due_time_is_in_the_clocks_zone_and_the_delay_is_elapsed_time() -> None:
    """A moment given in UTC, a clock in Madrid (as in `botfleet chat`): the due time keeps the
    clock's zone, and 24h across the spring change is 11:00 on the wall clock."""
    received = datetime(2024, 3, 30, 9, 0, tzinfo=UTC)  # 10:00 in Madrid
    now = received.astimezone(MADRID) + timedelta(minutes=2)
    flow = flow_from_yaml(
        """
        id: day_later
        initial_state: IDLE
        tasks:
          ping: [{action: send_text, text: ping}]
        states:
          IDLE:
            transitions: [{on_payload: remind, target: REMIND}]
          REMIND:
            on_enter: [{action: schedule_task, task: ping, delay: 24h}]
            next: IDLE
        """
    )
    state = start_state(flow, "t", "contact-1", received)
    result = step(flow, state, MessageReceived(button("remind")), now, CTX, delay_from=received)
    [due] = scheduled(result)
    assert due == datetime(2024, 3, 31, 11, 0, tzinfo=MADRID)
    assert due.tzinfo == MADRID
    assert due - received == timedelta(hours=24)
