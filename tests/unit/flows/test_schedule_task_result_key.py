"""`schedule_task`'s `result_key`: the flow learns, in the same turn, whether its reminder will
be kept, and can say so instead of promising one the scheduler will skip."""

from __future__ import annotations

from datetime import datetime, timedelta
from textwrap import dedent
from zoneinfo import ZoneInfo

from botfleet.flows import effects
from botfleet.flows.engine import SchedulerInfo
from botfleet.flows.load import load_flow_text
from botfleet.testing.clock import FrozenClock
from botfleet.testing.engine import Conversation, flow_from_yaml

MADRID = ZoneInfo("Europe/Madrid")  # the test tenant's zone
#: Monday 6 May 2024, 19:00 in Madrid: after 18:00 the day before a dinner on Tuesday.
MONDAY_EVENING = datetime(2024, 5, 6, 19, 0, tzinfo=MADRID)

FLOW = dedent(
    """\
    id: dinner
    initial_state: MENU
    tasks:
      reminder:
        - {action: send_text, text: "See you tonight!"}
    states:
      MENU:
        fallback: BOOKED
      BOOKED:
        fallback: BOOKED
        on_enter:
          - action: schedule_task
            task: reminder
            run_at: "{{ data.remind_at }}"
            idempotency_key: "reminder:{{ data.booking_id }}"
            %s
            result_key: reminder
          - action: send_text
            when: "data.reminder.scheduled"
            text: "We'll send you a reminder at {{ data.reminder.run_at }}."
          - action: send_text
            when: "not data.reminder.scheduled"
            text: "We can't send a reminder for this one ({{ data.reminder.reason }})."
    """
)


def book(
    remind_at: str, *, extra: str = "", scheduling: SchedulerInfo | None = None
) -> Conversation:
    flow = flow_from_yaml(FLOW % extra)
    talk = Conversation(flow, clock=FrozenClock(MONDAY_EVENING), scheduling=scheduling)
    return talk.with_data(remind_at=remind_at, booking_id="b1")


def test_a_reminder_ahead_is_scheduled_and_the_next_action_says_when() -> None:
    talk = book("2024-05-07T18:00")  # Tuesday 18:00 in Madrid
    exchange = talk.send("book")
    assert exchange.texts == ["We'll send you a reminder at 2024-05-07T16:00:00+00:00."]
    assert talk.state.data["reminder"] == {
        "scheduled": True,
        "run_at": "2024-05-07T16:00:00+00:00",
        "runs_now": False,
    }
    [task] = [e for e in exchange.effects if isinstance(e, effects.ScheduleTask)]
    assert task.run_at == datetime(2024, 5, 7, 18, 0, tzinfo=MADRID)


def test_a_reminder_past_the_grace_window_says_past_and_still_asks_to_schedule() -> None:
    talk = book("2024-05-06T18:00")  # due an hour ago
    exchange = talk.send("book")
    assert exchange.texts == ["We can't send a reminder for this one (past)."]
    assert talk.state.data["reminder"] == {"scheduled": False, "reason": "past"}
    # The runtime still gets the request: it cancels the job pending under the key.
    [task] = [e for e in exchange.effects if isinstance(e, effects.ScheduleTask)]
    assert task.idempotency_key == "reminder:b1"


def test_a_run_at_that_is_no_date_time_says_bad_run_at_and_schedules_nothing() -> None:
    talk = book("tomorrow evening")
    exchange = talk.send("book")
    assert exchange.texts == ["We can't send a reminder for this one (bad_run_at)."]
    assert talk.state.data["reminder"] == {"scheduled": False, "reason": "bad_run_at"}
    assert not [e for e in exchange.effects if isinstance(e, effects.ScheduleTask)]
    assert "schedule_task_invalid" in exchange.diagnostic_events()


def test_a_data_plane_without_a_scheduler_says_disabled() -> None:
    talk = book("2024-05-07T18:00", scheduling=SchedulerInfo(enabled=False))
    exchange = talk.send("book")
    assert exchange.texts == ["We can't send a reminder for this one (disabled)."]
    assert talk.state.data["reminder"] == {"scheduled": False, "reason": "disabled"}


def test_the_grace_window_the_engine_is_given_decides_a_reminder_just_past() -> None:
    just_past = "2024-05-06T18:57"  # three minutes ago
    assert book(just_past).send("book").texts == [
        "We'll send you a reminder at 2024-05-06T16:57:00+00:00."
    ]  # within the default 5 minutes: it runs right away
    short = SchedulerInfo(grace=timedelta(minutes=2))
    assert book(just_past, scheduling=short).send("book").texts == [
        "We can't send a reminder for this one (past)."
    ]
    long = SchedulerInfo(grace=timedelta(hours=2))
    assert book("2024-05-06T18:00", scheduling=long).send("book").texts == [
        "We'll send you a reminder at 2024-05-06T16:00:00+00:00."
    ]


def test_a_reminder_due_already_within_the_window_says_it_runs_now() -> None:
    talk = book("2024-05-06T18:57")  # three minutes ago: sent right after this turn
    talk.send("book")
    assert talk.state.data["reminder"]["runs_now"] is True
    later = book("2024-05-06T19:00")  # this very minute counts as due
    later.send("book")
    assert later.state.data["reminder"]["runs_now"] is True


def test_a_shorter_run_late_within_of_its_own_is_the_window() -> None:
    talk = book("2024-05-06T18:57", extra="run_late_within: 1m")
    assert talk.send("book").texts == ["We can't send a reminder for this one (past)."]


def test_a_longer_run_late_within_does_not_widen_the_window_at_scheduling() -> None:
    talk = book("2024-05-06T18:00", extra="run_late_within: 3h")
    assert talk.send("book").texts == ["We can't send a reminder for this one (past)."]


def test_without_result_key_nothing_is_written() -> None:
    flow = flow_from_yaml((FLOW % "").replace("result_key: reminder", ""))
    talk = Conversation(flow, clock=FrozenClock(MONDAY_EVENING))
    talk.with_data(remind_at="2024-05-07T18:00", booking_id="b1").send("book")
    assert "reminder" not in talk.state.data


def test_the_validator_counts_the_result_key_as_written_and_not_as_a_template() -> None:
    text = (FLOW % "").replace(
        "initial_state: MENU",
        "initial_state: MENU\nsettings: {session_timeout: 12h, session_keeps: [reminder]}",
    )
    assert list(load_flow_text(text, "dinner.yaml").warnings) == []
