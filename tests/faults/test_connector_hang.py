"""A calendar that stops answering: each call times out, the breaker opens after the threshold
(later users get the error path at once, without waiting), and closes again after the reset time
once the calendar answers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from botfleet.adapters.registry import build_connectors, connector_policies
from botfleet.data_plane.runtime.connectors import ConnectorRegistry
from botfleet.domain.tenant_config import Binding, TenantConfig
from botfleet.testing.faults import HangingConnector
from botfleet.testing.runtime import ChatClient, FrozenClock, running_app

TIMEOUT_S = 0.1
RESET_AFTER_S = 30.0
POLICY = {
    "timeout_s": TIMEOUT_S,
    "max_attempts": 2,
    "backoff_initial_s": 0,
    "backoff_max_s": 0,
    "backoff_jitter_s": 0,
    "failure_threshold": 2,
    "reset_after_s": RESET_AFTER_S,
}
UNREACHABLE = "Our calendar is not reachable right now. Please try again in a few minutes."
MENU = "Hi! Welcome to Bella Hair Studio. What would you like to do?"
DAYS = "Which day works for you for a haircut?"


class FakeMonotonic:
    """The breaker's clock: moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    def __init__(self, chat: ChatClient, calendar: HangingConnector, clock: FakeMonotonic) -> None:
        self.chat, self.calendar, self.clock = chat, calendar, clock

    async def ask_for_days(self, contact: str) -> tuple[list[str], float]:
        """Walk `contact` to the day choice; returns the replies to the service pick and how
        long that turn took."""
        assert [r["text"] for r in await self.chat.say(contact, "hi")] == [MENU]
        await self.chat.press(contact, "menu_book")
        started = time.perf_counter()
        replies = await self.chat.say(contact, "1")  # Haircut -> BOOK_DAY calls the calendar
        return [r["text"] for r in replies], time.perf_counter() - started

    async def metrics(self) -> str:
        response = await self.chat.http.get("/metrics")
        assert response.status_code == 200
        return response.text


def with_policy(config: TenantConfig) -> TenantConfig:
    calendar = config.connectors["calendar"]
    bound = Binding(**{**calendar.model_dump(), "resilience": POLICY})
    return config.model_copy(update={"connectors": {**config.connectors, "calendar": bound}})


@pytest.fixture
async def harness(demo_config: TenantConfig, tmp_path: Path) -> AsyncIterator[Harness]:
    config = with_policy(demo_config)
    app_clock = FrozenClock()
    calendar = HangingConnector(build_connectors(config, clock=app_clock)["calendar"])
    breaker_clock = FakeMonotonic()
    async with running_app(
        config, state_db=tmp_path / "state.db", clock=app_clock, connectors={"calendar": calendar}
    ) as chat:
        runtime = chat.runtime
        # The same registry bootstrap builds, with the breaker on a clock the test moves.
        old = runtime.connectors
        assert isinstance(old, ConnectorRegistry) and old.metrics is not None
        for collector in (
            old.metrics.calls,
            old.metrics.latency,
            old.metrics.retries,
            old.metrics.breaker_state,
            old.metrics.breaker_transitions,
        ):
            runtime.metrics.registry.unregister(collector)
        runtime.connectors = ConnectorRegistry(
            {"calendar": calendar},
            timeout_s=old.timeout_s,
            policies=connector_policies(config, timeout_s=old.timeout_s),
            metrics_registry=runtime.metrics.registry,
            monotonic=breaker_clock,
        )
        yield Harness(chat, calendar, breaker_clock)


async def test_a_hanging_calendar_times_out_opens_the_breaker_and_recovers(
    harness: Harness,
) -> None:
    calendar = harness.calendar

    # 1. Each attempt times out; the user gets the flow's error path and is back at the menu.
    replies, took = await harness.ask_for_days("+34600000001")
    assert replies == [UNREACHABLE, MENU]
    assert calendar.hung == 2  # two attempts, both hung
    assert TIMEOUT_S * 2 <= took < 5.0
    assert 'botfleet_connector_breaker_state{connector="calendar"} 1.0' in await harness.metrics()

    # 2. The breaker is open: the next user gets the same answer at once; nothing is called.
    replies, took = await harness.ask_for_days("+34600000002")
    assert replies == [UNREACHABLE, MENU]
    assert calendar.calls == 2
    assert took < TIMEOUT_S
    metrics = await harness.metrics()
    assert (
        'botfleet_connector_calls_total{connector="calendar",operation="get_available_days",'
        'outcome="circuit_open"} 1.0' in metrics
    )
    assert (
        'botfleet_connector_calls_total{connector="calendar",operation="get_available_days",'
        'outcome="timeout"} 1.0' in metrics
    )

    # 3. The calendar answers again, but the breaker waits for its reset time.
    calendar.release()
    harness.clock.now += RESET_AFTER_S - 1
    replies, _ = await harness.ask_for_days("+34600000003")
    assert replies == [UNREACHABLE, MENU]
    assert calendar.calls == 2

    # 4. After the reset time, with nobody writing, a scrape alone sees it half open (the
    # state moved only when /health read it: a quiet tenant's alert on "open" never ended).
    harness.clock.now += 1
    half_open = 'botfleet_connector_breaker_state{connector="calendar"} 2.0'
    assert half_open in await harness.metrics()
    # One probe goes through, succeeds and closes the breaker.
    replies, _ = await harness.ask_for_days("+34600000004")
    assert replies[0] == DAYS
    assert calendar.calls == 3
    assert 'botfleet_connector_breaker_state{connector="calendar"} 0.0' in await harness.metrics()

    # Users turned away earlier can simply try again; nothing of theirs is stuck.
    replies, _ = await harness.ask_for_days("+34600000001")
    assert replies[0] == DAYS
    for contact in ("+34600000001", "+34600000002", "+34600000004"):
        state = await harness.chat.runtime.states.load(contact)
        assert state is not None and state.awaiting is None
