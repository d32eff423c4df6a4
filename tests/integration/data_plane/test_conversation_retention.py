"""`settings.conversation_retention` in a running data plane: silent contacts are forgotten
(store and cache), their reminders kept, the retention read from the live flow."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from botfleet.data_plane.runtime.conversation_retention import (
    conversation_forgetting,
    forget_once,
    retention_of,
)
from botfleet.flows.effects import ScheduleTask
from botfleet.flows.schema import FlowSpec
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import make_settings, running_app
from botfleet.testing.scheduling import ManualScheduler

NOW = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)


def flow(retention: str | None) -> dict[str, Any]:
    settings = {} if retention is None else {"conversation_retention": retention}
    return {
        "id": "retained",
        "initial_state": "ASK",
        "settings": settings,
        "tasks": {"ping": [{"action": "send_text", "text": "Reminder"}]},
        "states": {
            "ASK": {
                "transitions": [{"set_data": {"name": "{{ message.text }}"}, "target": "KNOWN"}],
            },
            "KNOWN": {
                "on_enter": [{"action": "send_text", "text": "Hello {{ data.name }}"}],
                "fallback": "KNOWN",
            },
        },
    }


async def test_silent_contacts_are_forgotten_and_start_again(tmp_path: Path) -> None:
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="test")
    settings = make_settings(tmp_path / "state.db")
    async with running_app(
        flow=flow("30d"), settings=settings, clock=clock, scheduler=scheduler
    ) as chat:
        runtime = chat.runtime
        assert "conversation-retention" in {t.get_name() for t in asyncio.all_tasks()}
        await chat.say("old", "Olga")
        await scheduler.schedule(ScheduleTask("ping", NOW + timedelta(days=60), "r:old", "old"))
        clock.advance(timedelta(days=20))
        await chat.say("recent", "Rita")
        clock.advance(timedelta(days=11))  # "old" silent 31 days, "recent" 11

        retention = retention_of(runtime.live)
        assert retention == timedelta(days=30)
        assert await forget_once(runtime.turns, clock, retention, runtime.state_cache.forget) == 1

        assert await runtime.states.load("old") is None
        assert runtime.state_cache.get("old") is None
        assert (await runtime.states.load("recent")).data["name"] == "Rita"  # type: ignore[union-attr]
        assert [j.key for j in await scheduler.jobs(contact_id="old")] == ["r:old"]
        # Writing again, "old" is a new contact: its first message answers ASK.
        assert [r["text"] for r in await chat.say("old", "Otto")] == ["Hello Otto"]


async def test_the_retention_is_read_from_the_live_flow_at_each_pass() -> None:
    forgotten: list[datetime] = []

    class Store:
        async def forget_inactive(self, older_than: datetime) -> list[str]:
            forgotten.append(older_than)
            return ["a"]

    clock = FrozenClock(NOW)
    retention: list[timedelta | None] = [None]
    cache: list[str] = []
    async with conversation_forgetting(
        Store(), clock, lambda: retention[0], cache.append, every_s=0.01
    ):
        await asyncio.sleep(0.05)
        assert forgotten == []  # no retention: nothing asked
        retention[0] = timedelta(days=2)
        await asyncio.sleep(0.05)
    assert forgotten and set(forgotten) == {NOW - timedelta(days=2)}
    assert set(cache) == {"a"}


async def test_a_failed_pass_is_logged_and_the_loop_goes_on() -> None:
    calls = 0

    class Broken:
        async def forget_inactive(self, older_than: datetime) -> list[str]:
            nonlocal calls
            calls += 1
            raise OSError("disk I/O error")

    with structlog.testing.capture_logs() as logs:
        async with conversation_forgetting(
            Broken(), FrozenClock(NOW), lambda: timedelta(days=1), print, every_s=0.01
        ):
            await asyncio.sleep(0.05)
    assert calls >= 2
    assert {e["event"] for e in logs} == {"conversations_forget_failed"}


def test_a_published_flow_without_the_setting_keeps_conversations() -> None:
    from botfleet.data_plane.runtime.flow_holder import LiveConfig

    live = LiveConfig(flow=FlowSpec.model_validate(flow(None)))
    assert retention_of(live) is None
    live.swap_flow(FlowSpec.model_validate(flow("90d")), "v2")
    assert retention_of(live) == timedelta(days=90)
