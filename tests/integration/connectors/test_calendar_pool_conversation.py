"""The barber shop of docs/connectors.md ("Anyone on the team: a pool of calendars"): its tenant
and flow read from the page, run by the real bootstrap and runtime, customers booking "anyone"
over Ana's and Rui's in-memory calendars."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from botfleet.adapters.connectors.calendar import InMemoryCalendar
from botfleet.adapters.connectors.calendar.pool import CalendarPool
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.errors import ConnectorUnavailable
from botfleet.domain.outputs import Output, Text
from botfleet.testing.runtime import (
    bootstrap_test_runtime,
    choice_message,
    make_tenant_config,
    text_message,
)

DOCS = Path(__file__).parents[3] / "docs" / "connectors.md"
SLOT = "hour_2024-05-06_1100"  # Monday: Ana 10-12, Rui 11-13


def docs_block(marker: str) -> dict[str, Any]:
    found = re.search(
        rf"<!-- example: {re.escape(marker)} -->\s*```[a-z]*\n(.*?)\n```",
        DOCS.read_text(encoding="utf-8"),
        re.DOTALL,
    )
    assert found, f"docs/connectors.md has no block marked {marker!r}"
    loaded: dict[str, Any] = yaml.safe_load(found.group(1))
    return loaded


class Down:
    """Ana's calendar back end, not answering."""

    category = "calendar"

    def operations(self) -> frozenset[str]:
        return frozenset({"get_available_days", "get_slots_for_day", "book_appointment"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        raise ConnectorUnavailable("the calendar server did not answer")


@asynccontextmanager
async def barber_shop() -> AsyncIterator[ConversationRuntime]:
    tenant = docs_block("calendar-pool-tenant")
    config = make_tenant_config(
        docs_block("calendar-pool-flow"),
        tenant_id=tenant["tenant_id"],
        timezone=tenant["timezone"],
        connectors=tenant["connectors"],
    )
    async with bootstrap_test_runtime(config) as runtime:
        yield runtime


def texts(outputs: tuple[Output, ...]) -> list[str]:
    return [o.text if isinstance(o, Text) else getattr(o, "body", "") for o in outputs]


async def press(runtime: ConversationRuntime, contact: str, payload: str) -> tuple[Output, ...]:
    return (await runtime.handle(choice_message(contact, payload))).outputs


async def up_to_the_times(runtime: ConversationRuntime, contact: str) -> None:
    await runtime.handle(text_message(contact, "hi"))
    await press(runtime, contact, "barber_anyone")
    await press(runtime, contact, "day_2024-05-06")


def pool_of(runtime: ConversationRuntime) -> CalendarPool:
    pool = runtime.connectors.get("calendar.anyone")
    assert isinstance(pool, CalendarPool)
    return pool


async def test_anyone_books_the_first_free_barber_and_says_who() -> None:
    async with barber_shop() as runtime:
        await runtime.handle(text_message("+351910000001", "hi"))
        days = await press(runtime, "+351910000001", "barber_anyone")
        assert "Which day?" in texts(days)
        times = await press(runtime, "+351910000001", "day_2024-05-06")
        assert "What time?" in texts(times)
        booked = await press(runtime, "+351910000001", SLOT)
        assert texts(booked)[0] == "Booked with Ana: Mon 6 May · 11:00 · Haircut"
        ana = runtime.connectors.get("calendar.ana")
        assert isinstance(ana, InMemoryCalendar)
        (made,) = ana.appointments
        assert pool_of(runtime) is not None and made.contact_id == "+351910000001"


async def test_two_customers_racing_for_anyone_both_get_the_time() -> None:
    async with barber_shop() as runtime:
        await up_to_the_times(runtime, "+351910000001")
        await up_to_the_times(runtime, "+351910000002")
        first, second = await asyncio.gather(
            press(runtime, "+351910000001", SLOT), press(runtime, "+351910000002", SLOT)
        )
        said = sorted([texts(first)[0], texts(second)[0]])
        assert said == [
            "Booked with Ana: Mon 6 May · 11:00 · Haircut",
            "Booked with Rui: Mon 6 May · 11:00 · Haircut",
        ]


async def test_anas_calendar_failing_leaves_rui_bookable() -> None:
    async with barber_shop() as runtime:
        pool_of(runtime).members["calendar.ana"] = Down()
        await runtime.handle(text_message("+351910000001", "hi"))
        await press(runtime, "+351910000001", "barber_anyone")
        times = await press(runtime, "+351910000001", "day_2024-05-06")
        assert "What time?" in texts(times)
        booked = await press(runtime, "+351910000001", SLOT)
        assert texts(booked)[0] == "Booked with Rui: Mon 6 May · 11:00 · Haircut"


async def test_the_sandbox_runs_the_pool_over_its_member_calendars() -> None:
    # `botfleet chat` / `test`: the pool is built over the sandbox's in-memory members (not a
    # calendar of its own with no opening hours), and a booking through it is the member's.
    from botfleet.testing.clock import FrozenClock
    from botfleet.testing.sandbox import _connectors, open_sandbox, sandbox_config, tenant_flow

    tenant = docs_block("calendar-pool-tenant")
    config = make_tenant_config(
        docs_block("calendar-pool-flow"),
        tenant_id=tenant["tenant_id"],
        timezone=tenant["timezone"],
        connectors=tenant["connectors"],
    )
    sandboxed = sandbox_config(config, tenant_flow(config).spec)
    built = _connectors(sandboxed, FrozenClock())
    pools = [c for c in built.values() if isinstance(c, CalendarPool)]
    assert len(pools) == 1
    for name, member in pools[0].members.items():
        assert member is built[name]  # the very calendars bound under their own names

    async with open_sandbox(sandboxed) as bot:
        await bot.say("hi")
        await bot.press("barber_anyone")
        shown = await bot.press("day_2024-05-06")
        assert any(SLOT in str(o) for o in shown)


def test_validate_gives_a_pool_no_opening_hours_warning(tmp_path: Path) -> None:
    from botfleet.cli.validation import validate_files

    tenant = docs_block("calendar-pool-tenant")
    (tmp_path / "flow.yaml").write_text(
        yaml.safe_dump(docs_block("calendar-pool-flow")), encoding="utf-8"
    )
    (tmp_path / "tenant.yaml").write_text(
        yaml.safe_dump({**tenant, "flow_path": "flow.yaml"}), encoding="utf-8"
    )
    findings = [f for r in validate_files([tmp_path / "tenant.yaml"]) for f in r.findings]
    assert not [f for f in findings if "opening hours" in f.message], findings


async def test_an_export_lists_a_pooled_booking_once_under_its_member() -> None:
    from botfleet.data_plane.runtime.contact_data import ContactData

    async with barber_shop() as runtime:
        await up_to_the_times(runtime, "+351910000001")
        await press(runtime, "+351910000001", SLOT)
        assert runtime.records is not None
        found = await ContactData(runtime, runtime.records).export("+351910000001")

    listed = {a.connector: len(a.appointments) for a in found.appointments}
    assert listed == {"calendar.ana": 1, "calendar.rui": 0}  # not again under the pool
