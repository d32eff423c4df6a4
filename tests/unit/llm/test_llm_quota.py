"""Monthly token counters (memory and SQLite) and the quota, with months in the tenant's zone."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.adapters.llm.quota import (
    MONTH,
    InMemoryUsageStore,
    MonthlyUsage,
    QuotaGuard,
    SqliteUsageStore,
    UsageStore,
    month_of,
)
from botfleet.adapters.stores import SqliteTenantStore
from botfleet.ports.connectors import LLMUsage
from botfleet.testing.clock import FrozenClock
from botfleet.testing.stores import sample_message

T0 = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "sqlite shared"])
async def usage_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UsageStore]:
    if request.param == "memory":
        yield InMemoryUsageStore()
    elif request.param == "sqlite":
        async with await SqliteUsageStore.open(tmp_path / "tenant.db") as store:
            yield store
    else:
        async with SqliteTenantStore.open(tmp_path / "tenant.db") as tenant_store:
            yield SqliteUsageStore.sharing(tenant_store)


def test_the_month_is_read_on_the_tenant_wall_clock() -> None:
    # 31 Jan 23:30 UTC is already 1 Feb in Madrid (UTC+1) but still January in New York.
    moment = datetime(2024, 1, 31, 23, 30, tzinfo=UTC)
    assert month_of(moment, "Europe/Madrid") == "2024-02"
    assert month_of(moment, "UTC") == "2024-01"
    assert month_of(moment, "America/New_York") == "2024-01"


@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(["UTC", "Europe/Madrid", "America/New_York", "Asia/Kathmandu"]),
)
def test_the_month_is_the_wall_clock_s_year_and_month(moment: datetime, zone: str) -> None:
    local = moment.astimezone(ZoneInfo(zone))
    assert month_of(moment, zone) == local.strftime("%Y-%m")
    assert MONTH.match(month_of(moment, zone))


async def test_an_unknown_month_reads_as_zero(usage_store: UsageStore) -> None:
    assert await usage_store.get("2024-01") == MonthlyUsage("2024-01")
    assert await usage_store.months() == []


async def test_tokens_and_outcomes_add_up_per_month(usage_store: UsageStore) -> None:
    await usage_store.add("2024-01", LLMUsage(100, 20, 900), "answered", T0)
    await usage_store.add("2024-01", LLMUsage(50, 5, 900), "out_of_scope", T0)
    await usage_store.add("2024-01", None, "error", T0)
    await usage_store.add("2024-01", None, "over_quota", T0)
    await usage_store.add("2023-12", LLMUsage(7, 3, 0), "answered", T0)
    january = await usage_store.get("2024-01")
    assert january == MonthlyUsage(
        "2024-01",
        input_tokens=150,
        output_tokens=25,
        cached_tokens=1800,
        requests=3,
        answered=1,
        out_of_scope=1,
        errors=1,
        over_quota=1,
    )
    assert january.total_tokens == 175  # cached reads are reported, not counted
    assert (await usage_store.get("2023-12")).total_tokens == 10
    assert await usage_store.months() == ["2023-12", "2024-01"]


async def test_sqlite_counters_survive_reopening_beside_the_tenant_store(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path), await SqliteUsageStore.open(path) as usage:
        await usage.add("2024-01", LLMUsage(10, 2, 3), "answered", T0)
    async with await SqliteUsageStore.open(path) as usage:
        assert (await usage.get("2024-01")).input_tokens == 10
    with sqlite3.connect(path) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(llm_usage)")]
    assert columns[:4] == ["month", "input_tokens", "output_tokens", "cached_tokens"]


async def test_the_quota_allows_until_the_limit_is_reached() -> None:
    clock = FrozenClock(T0)
    quota = QuotaGuard(InMemoryUsageStore(), limit=100, timezone="Europe/Madrid", clock=clock)
    assert await quota.allows()
    await quota.record(LLMUsage(60, 39, 5000), "answered")
    assert await quota.allows()  # 99 < 100; the cached 5000 do not count
    await quota.record(LLMUsage(1, 0, 0), "answered")
    assert not await quota.allows()


async def test_no_limit_always_allows() -> None:
    quota = QuotaGuard(InMemoryUsageStore(), limit=None, timezone="UTC", clock=FrozenClock(T0))
    await quota.record(LLMUsage(10**9, 10**9, 0), "answered")
    assert await quota.allows()


async def test_a_zero_quota_never_allows() -> None:
    quota = QuotaGuard(InMemoryUsageStore(), limit=0, timezone="UTC", clock=FrozenClock(T0))
    assert not await quota.allows()


async def test_the_quota_rolls_over_at_midnight_of_the_first_in_the_tenant_zone() -> None:
    # Madrid is UTC+1 in winter: February starts there at 23:00 UTC on 31 January.
    clock = FrozenClock(datetime(2024, 1, 31, 22, 59, tzinfo=UTC))
    store = InMemoryUsageStore()
    quota = QuotaGuard(store, limit=100, timezone="Europe/Madrid", clock=clock)
    await quota.record(LLMUsage(80, 20, 0), "answered")
    assert not await quota.allows()
    clock.advance(minutes=1)  # 23:00 UTC, still January in UTC
    assert quota.current_month() == "2024-02"
    assert await quota.allows()
    await quota.record(LLMUsage(5, 5, 0), "answered")
    assert (await quota.usage()).total_tokens == 10
    assert (await quota.usage("2024-01")).total_tokens == 100


async def test_the_rollover_follows_summer_time() -> None:
    # Madrid is UTC+2 in summer: July starts there at 22:00 UTC on 30 June.
    clock = FrozenClock(datetime(2024, 6, 30, 21, 59, 59, tzinfo=UTC))
    quota = QuotaGuard(InMemoryUsageStore(), limit=10, timezone="Europe/Madrid", clock=clock)
    await quota.record(LLMUsage(10, 0, 0), "answered")
    assert not await quota.allows()
    clock.advance(seconds=1)
    assert quota.current_month() == "2024-07"
    assert await quota.allows()


async def test_shared_counters_use_the_tenant_store_connection_and_its_group_commits(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path) as store:
        usage = SqliteUsageStore.sharing(store)
        assert usage._db is store.database  # one connection (and one checkpointer) per file
        group = store.group_commit
        groups, calls = group.groups, group.calls
        await asyncio.gather(
            usage.add("2024-01", LLMUsage(10, 2, 3), "answered", T0),
            store.journal.record(sample_message("m1"), T0),
        )
        assert (group.groups, group.calls) == (groups + 1, calls + 2)
        await usage.close()  # the tenant store's connection stays open
        assert (await usage.get("2024-01")).input_tokens == 10
        assert await store.journal.get("m1") is not None
    async with await SqliteUsageStore.open(path) as reopened:
        assert (await reopened.get("2024-01")).input_tokens == 10
