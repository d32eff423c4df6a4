"""`botfleet chat` and `botfleet test` run what the data plane runs: the tenant's calendar as the
catalog builds it (its settings, its `busy` events, closed without `schedule`), and a task due
at once runs right after the turn that scheduled it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import yaml
from cli_helpers import Invoke

from botfleet.adapters.connectors.catalog import build_connectors
from botfleet.domain.errors import ConfigError
from botfleet.ports.connectors import Connector
from botfleet.testing.clock import FrozenClock
from botfleet.testing.conversation import ConversationResult, run_conversation_test
from botfleet.testing.runtime import MONDAY_MORNING, make_tenant_config
from botfleet.testing.sandbox import (
    _connectors,
    open_sandbox,
    output_text,
    sandbox_config,
    tenant_flow,
)

#: Tuesday 7 May 2024: its slots, as a flow would ask for them.
SLOTS_FLOW: dict[str, Any] = {
    "id": "slots_v1",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "calendar",
                    "operation": "get_slots_for_day",
                    "params": {"date_str": "2024-05-07"},
                    "result_key": "slots",
                },
                {
                    "action": "send_dynamic_options",
                    "source_key": "slots",
                    "text": "Pick a time",
                    "button_label": "Times",
                    "empty_text": "No times",
                },
            ],
            "transitions": [{"on_payload_prefix": "hour_", "target": "MENU"}],
            "fallback": "MENU",
        }
    },
}
STAFF_BLOCK = {"start": "2024-05-07T09:00", "end": "2024-05-07T14:00", "title": "staff"}
TUESDAY = {"tue": ["09:00-18:00"]}


async def _slot_titles(connector: Connector) -> list[str]:
    slots = await connector.call(
        "get_slots_for_day", {"date_str": "2024-05-07"}, idempotency_key="k"
    )
    return [slot["title"] for slot in slots]


def served_and_sandboxed(calendar: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Tuesday's slots from the connector the data plane builds, and from the sandbox's."""
    config = make_tenant_config(SLOTS_FLOW, connectors={"calendar": calendar})
    clock = FrozenClock(MONDAY_MORNING)
    served = build_connectors(config, clock=clock)["calendar"]
    sandboxed = _connectors(sandbox_config(config, tenant_flow(config).spec), clock)["calendar"]

    async def both() -> tuple[list[str], list[str]]:
        return await _slot_titles(served), await _slot_titles(sandboxed)

    return asyncio.run(both())


@pytest.mark.parametrize(
    "calendar",
    [
        pytest.param(
            {"type": "mock_calendar", "schedule": TUESDAY, "busy": [STAFF_BLOCK]}, id="busy"
        ),
        pytest.param(
            {"type": "mock_calendar", "schedule": TUESDAY, "events": [STAFF_BLOCK]}, id="events"
        ),
        pytest.param({"type": "mock_calendar"}, id="mock_calendar-no-schedule"),
        pytest.param({"type": "mock"}, id="mock-no-schedule"),
        pytest.param(
            {"type": "mock", "schedule": TUESDAY, "busy": [STAFF_BLOCK], "min_notice_min": 60},
            id="mock-with-settings",
        ),
        pytest.param(
            {"type": "mock_calendar", "schedule": TUESDAY, "slot_duration_min": 45},
            id="slot-length",
        ),
    ],
)
def test_the_sandbox_calendar_offers_what_the_served_one_does(calendar: dict[str, Any]) -> None:
    served, sandboxed = served_and_sandboxed(calendar)
    assert sandboxed == served


def test_a_tenants_busy_events_block_slots_in_the_sandbox() -> None:
    _, sandboxed = served_and_sandboxed(
        {"type": "mock_calendar", "schedule": TUESDAY, "busy": [STAFF_BLOCK]}
    )
    assert sandboxed[0] == "14:00"  # the 09:00-14:00 staff block is in the calendar
    assert "09:00" not in sandboxed


def test_a_mock_calendar_without_schedule_is_closed_in_the_sandbox_as_served() -> None:
    assert served_and_sandboxed({"type": "mock_calendar"}) == ([], [])


def test_a_remote_calendar_is_replaced_keeping_its_shared_settings_and_no_default_week() -> None:
    config = make_tenant_config(
        SLOTS_FLOW,
        connectors={
            "calendar": {"type": "caldav", "url": "https://dav.example.com/", "schedule": TUESDAY}
        },
    )
    clock = FrozenClock(MONDAY_MORNING)
    connector = _connectors(sandbox_config(config, tenant_flow(config).spec), clock)["calendar"]
    assert asyncio.run(_slot_titles(connector))[:2] == ["09:00", "09:30"]
    closed = make_tenant_config(
        SLOTS_FLOW,
        connectors={"calendar": {"type": "caldav", "url": "https://dav.example.com/"}},
    )
    connector = _connectors(sandbox_config(closed, tenant_flow(closed).spec), clock)["calendar"]
    assert asyncio.run(_slot_titles(connector)) == []


def test_a_setting_the_data_plane_refuses_is_refused_by_the_sandbox() -> None:
    config = make_tenant_config(
        SLOTS_FLOW, connectors={"calendar": {"type": "mock_calendar", "slot_minutes": 30}}
    )
    with pytest.raises(ConfigError) as caught:
        sandbox_config(config, tenant_flow(config).spec)
    assert caught.value.key == "connectors.calendar.slot_minutes"
    assert "did you mean 'slot_duration_min'?" in str(caught.value)
    remote = make_tenant_config(
        SLOTS_FLOW,
        connectors={"calendar": {"type": "google_calendar", "slot_minutes": 30}},
    )
    with pytest.raises(ConfigError) as caught:  # its credentials are not asked for
        sandbox_config(remote, tenant_flow(remote).spec)
    assert caught.value.key == "connectors.calendar.slot_minutes"


def test_a_flow_without_tenant_file_gets_the_default_week_and_only_then() -> None:
    config = make_tenant_config(SLOTS_FLOW)  # binds no calendar
    clock = FrozenClock(MONDAY_MORNING)
    default = sandbox_config(config, tenant_flow(config).spec, default_calendar=True)
    connector = _connectors(default, clock)["calendar"]
    assert asyncio.run(_slot_titles(connector))[0] == "10:00"  # 10-14 and 17-20 on weekdays
    with pytest.raises(ConfigError, match="which the tenant does not configure"):
        sandbox_config(config, tenant_flow(config).spec)


# ---------------------------------------------------------------- conversation tests and chat


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
        return path

    return write_file


def tenant_text(calendar: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {
            "tenant_id": "clinic",
            "timezone": "Europe/Madrid",
            "flow_path": "slots.yaml",
            "connectors": {"calendar": calendar},
        }
    )


def run(path: Path) -> ConversationResult:
    return asyncio.run(run_conversation_test(path))


def test_a_conversation_test_sees_the_tenants_busy_events(
    write: Callable[[str, str], Path],
) -> None:
    write("slots.yaml", yaml.safe_dump(SLOTS_FLOW))
    calendar = {"type": "mock_calendar", "schedule": TUESDAY, "busy": [STAFF_BLOCK]}
    write("tenant.yaml", tenant_text(calendar))
    test = write(
        "t.yaml",
        """\
        tenant: tenant.yaml
        steps:
          - say: hi
            expect: [{text: Pick a time, options_include: [hour_2024-05-07_1400]}]
          - say: hi
            expect: [{options_include: [hour_2024-05-07_0900]}]
        """,
    )
    result = run(test)
    assert result.status == "failed"
    assert "step 2" in result.message  # 09:00 is not offered: the staff block holds it


def test_a_test_fixture_replaces_the_tenants_events_and_merges_over_its_settings(
    write: Callable[[str, str], Path],
) -> None:
    write("slots.yaml", yaml.safe_dump(SLOTS_FLOW))
    calendar = {"type": "mock_calendar", "schedule": TUESDAY, "busy": [STAFF_BLOCK]}
    write("tenant.yaml", tenant_text(calendar))
    test = write(
        "t.yaml",
        """\
        tenant: tenant.yaml
        connectors:
          calendar:
            busy: [{start: 2024-05-07T09:30, end: 2024-05-07T18:00}]
        steps:
          - say: hi
            expect: [{text: Pick a time, options: [hour_2024-05-07_0900]}]
        """,
    )
    assert run(test).passed, run(test).message


def test_a_tenant_without_schedule_is_closed_in_a_test(
    write: Callable[[str, str], Path],
) -> None:
    write("slots.yaml", yaml.safe_dump(SLOTS_FLOW))
    write("tenant.yaml", tenant_text({"type": "mock_calendar"}))
    test = write("t.yaml", "tenant: tenant.yaml\nsteps:\n  - say: hi\n    expect: [No times]\n")
    result = run(test)
    assert result.passed, result.message


def test_a_flow_test_keeps_the_default_week(write: Callable[[str, str], Path]) -> None:
    write("slots.yaml", yaml.safe_dump(SLOTS_FLOW))
    test = write(
        "t.yaml",
        """\
        flow: slots.yaml
        steps:
          - say: hi
            expect: [{options_include: [hour_2024-05-07_1000, hour_2024-05-07_1700]}]
        """,
    )
    result = run(test)
    assert result.passed, result.message


def test_a_calendar_setting_the_data_plane_refuses_is_a_test_error_in_the_tenant_file(
    write: Callable[[str, str], Path],
) -> None:
    write("slots.yaml", yaml.safe_dump(SLOTS_FLOW))
    tenant = write(
        "tenant.yaml",
        """\
        tenant_id: clinic
        flow_path: slots.yaml
        connectors:
          calendar:
            type: mock_calendar
            slot_minutes: 30
        """,
    )
    result = run(write("t.yaml", "tenant: tenant.yaml\nsteps:\n  - say: hi\n"))
    assert result.status == "error"
    assert f"{tenant}:6 connectors.calendar.slot_minutes: unknown setting" in result.message
    assert "did you mean 'slot_duration_min'?" in result.message


def test_chat_uses_the_tenants_busy_events_and_refuses_what_the_data_plane_would(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    write("slots.yaml", yaml.safe_dump(SLOTS_FLOW))
    calendar = {"type": "mock_calendar", "schedule": TUESDAY, "busy": [STAFF_BLOCK]}
    tenant = write("tenant.yaml", tenant_text(calendar))
    chat = invoke("chat", tenant, "--at", "2024-05-06T09:00", input="hi\n")
    assert chat.exit_code == 0, chat.output
    assert "1. 14:00  (hour_2024-05-07_1400)" in chat.stdout
    assert "09:00" not in chat.stdout.split("hi", 1)[1]
    bad = write("bad.yaml", tenant_text({"type": "mock_calendar", "slot_minutes": 30}))
    refused = invoke("chat", bad, input="hi\n")
    assert refused.exit_code == 1
    assert "connectors.calendar.slot_minutes: unknown setting" in refused.stderr


def test_chat_of_a_flow_file_keeps_the_default_week(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    flow = write("slots.yaml", yaml.safe_dump(SLOTS_FLOW))
    chat = invoke("chat", flow, "--at", "2024-05-06T09:00", input="hi\n")
    assert chat.exit_code == 0, chat.output
    assert "(hour_2024-05-07_1000)" in chat.stdout


# ---------------------------------------------------------------- tasks due at once

REMINDER_FLOW: dict[str, Any] = {
    "id": "remind_v1",
    "initial_state": "START",
    "tasks": {
        "now": [{"action": "send_text", "text": "due now"}],
        "late": [{"action": "send_text", "text": "due a minute ago"}],
        "later": [{"action": "send_text", "text": "due in an hour"}],
    },
    "states": {
        "START": {"transitions": [{"target": "BOOKED"}]},
        "BOOKED": {
            "on_enter": [
                {"action": "send_text", "text": "booked"},
                {"action": "schedule_task", "task": "now", "run_at": "{{ now }}"},
                {
                    "action": "schedule_task",
                    "task": "late",
                    "run_at": "{{ now | shift_time(minutes=-1) }}",
                },
                {"action": "schedule_task", "task": "later", "delay": "1h"},
                {"action": "send_text", "text": "bye"},
            ],
            "fallback": "BOOKED",
        },
    },
}


def test_tasks_due_at_once_run_right_after_the_turn_in_order() -> None:
    config = make_tenant_config(REMINDER_FLOW)

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        async with open_sandbox(sandbox_config(config, tenant_flow(config).spec)) as bot:
            turn = [output_text(o) for o in await bot.say("hi")]
            pending = [job.task for job in await bot.scheduler.jobs()]
            later = [output_text(o) for o in await bot.wait(timedelta(hours=1))]
            return turn, pending, later

    turn, pending, later = asyncio.run(scenario())
    # The turn's own messages first, then the tasks in the order they fall due.
    assert turn == ["booked", "bye", "due a minute ago", "due now"]
    assert pending == ["later"]
    assert later == ["due in an hour"]


def test_a_conversation_test_sees_a_task_due_at_once_in_the_step_that_scheduled_it(
    write: Callable[[str, str], Path],
) -> None:
    write("remind.yaml", yaml.safe_dump(REMINDER_FLOW))
    test = write(
        "t.yaml",
        """\
        flow: remind.yaml
        steps:
          - say: hi
            expect: [booked, bye, due a minute ago, due now]
            tasks: [later]
          - wait: 59m
            expect: []
          - wait: 1m
            expect: [due in an hour]
        """,
    )
    result = run(test)
    assert result.passed, result.message


def test_chat_shows_a_task_due_at_once_after_the_turn(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    flow = write("remind.yaml", yaml.safe_dump(REMINDER_FLOW))
    chat = invoke("chat", flow, "--at", "2024-05-06T09:00", input="hi\n")
    assert chat.exit_code == 0, chat.output
    lines = [line for line in chat.stdout.splitlines() if "bot>" in line]
    assert lines == ["bot> booked", "bot> bye", "bot> due a minute ago", "bot> due now"]


def test_a_tenant_file_that_binds_no_calendar_is_not_given_one(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    write("slots.yaml", yaml.safe_dump(SLOTS_FLOW))
    tenant = write("tenant.yaml", "tenant_id: clinic\nflow_path: slots.yaml\n")
    result = run(write("t.yaml", "tenant: tenant.yaml\nsteps:\n  - say: hi\n"))
    assert result.status == "error"
    assert "connectors.calendar: the flow calls 'calendar', which the tenant does not" in (
        result.message
    )
    chat = invoke("chat", tenant, input="hi\n")
    assert chat.exit_code == 0, chat.output
    assert "note: connector 'calendar' has no mock here: its calls fail" in chat.stdout


def test_a_task_that_schedules_itself_for_now_fails_the_test_instead_of_hanging(
    write: Callable[[str, str], Path],
) -> None:
    write(
        "loop.yaml",
        """\
        id: loop
        initial_state: START
        states:
          START:
            fallback: LOOP
          LOOP:
            on_enter:
              - {action: schedule_task, task: again, delay: 0s, idempotency_key: "loop"}
        tasks:
          again:
            - {action: schedule_task, task: again, delay: 0s, idempotency_key: "loop"}
        """,
    )
    test = write("t.yaml", "flow: loop.yaml\nsteps:\n  - say: hi\n")
    result = run(test)
    assert result.status in ("failed", "error"), result
    assert "schedules itself again" in result.message
