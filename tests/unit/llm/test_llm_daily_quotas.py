"""The daily budgets: today's tokens (`quota_daily_tokens`) and one contact's questions of the
day (`quota_daily_questions_per_contact`), days in the tenant's zone, only today's rows kept."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.adapters.llm.quota import (
    DAY,
    DailyUsage,
    InMemoryUsageStore,
    MonthlyUsage,
    QuotaGuard,
    Refusal,
    SqliteUsageStore,
    UsageStore,
    day_of,
)
from botfleet.adapters.stores import SqliteTenantStore
from botfleet.ports.connectors import LLMUsage
from botfleet.testing.clock import FrozenClock

#: 12:00 in Madrid (UTC+1 in winter).
T0 = datetime(2024, 1, 15, 11, 0, tzinfo=UTC)


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


def guard(
    store: UsageStore,
    clock: FrozenClock,
    *,
    limit: int | None = None,
    daily: int | None = None,
    per_contact: int | None = None,
) -> QuotaGuard:
    return QuotaGuard(
        store,
        limit=limit,
        daily_limit=daily,
        contact_limit=per_contact,
        timezone="Europe/Madrid",
        clock=clock,
    )


def test_the_day_is_read_on_the_tenant_wall_clock() -> None:
    # 23:30 UTC on 14 Feb is already the 15th in Madrid, still the 14th in New York.
    moment = datetime(2024, 2, 14, 23, 30, tzinfo=UTC)
    assert day_of(moment, "Europe/Madrid") == "2024-02-15"
    assert day_of(moment, "UTC") == "2024-02-14"
    assert day_of(moment, "America/New_York") == "2024-02-14"


@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(["UTC", "Europe/Madrid", "America/New_York", "Asia/Kathmandu"]),
)
def test_the_day_is_the_wall_clock_s_date(moment: datetime, zone: str) -> None:
    assert day_of(moment, zone) == moment.astimezone(ZoneInfo(zone)).date().isoformat()
    assert DAY.match(day_of(moment, zone))


async def test_a_day_counts_tokens_and_outcomes_and_the_daily_refusals(
    usage_store: UsageStore,
) -> None:
    day = "2024-01-15"
    await usage_store.add("2024-01", LLMUsage(100, 20, 900), "answered", T0, day=day)
    await usage_store.add("2024-01", LLMUsage(50, 5, 0), "out_of_scope", T0, day=day)
    await usage_store.add("2024-01", None, "error", T0, day=day)
    await usage_store.add("2024-01", None, "over_quota", T0, day=day)
    await usage_store.add("2024-01", None, "over_daily_quota", T0, day=day)
    await usage_store.add("2024-01", None, "over_contact_quota", T0, day=day)
    assert await usage_store.get_day(day) == DailyUsage(
        day,
        input_tokens=150,
        output_tokens=25,
        cached_tokens=900,
        requests=3,
        answered=1,
        out_of_scope=1,
        errors=1,
        over_quota=1,
        over_daily_quota=1,
        over_contact_quota=1,
    )
    # The month's counters are the same questions, without the daily refusals (no columns).
    assert await usage_store.get("2024-01") == MonthlyUsage(
        "2024-01",
        input_tokens=150,
        output_tokens=25,
        cached_tokens=900,
        requests=3,
        answered=1,
        out_of_scope=1,
        errors=1,
        over_quota=1,
    )
    assert await usage_store.get_day("2024-01-16") == DailyUsage("2024-01-16")


async def test_only_questions_handed_to_the_provider_count_for_a_contact(
    usage_store: UsageStore,
) -> None:
    day = "2024-01-15"
    for outcome in ("answered", "out_of_scope", "error"):
        await usage_store.add("2024-01", None, outcome, T0, day=day, contact="aaa")
    for outcome in ("over_quota", "over_daily_quota", "over_contact_quota"):
        await usage_store.add("2024-01", None, outcome, T0, day=day, contact="aaa")
    await usage_store.add("2024-01", None, "answered", T0, day=day, contact="bbb")
    assert await usage_store.contact_questions(day, "aaa") == 3
    assert await usage_store.contact_questions(day, "bbb") == 1
    assert await usage_store.contact_questions("2024-01-16", "aaa") == 0


async def test_the_daily_token_quota_is_soft_and_ignores_cached_reads() -> None:
    clock = FrozenClock(T0)
    quota = guard(InMemoryUsageStore(), clock, daily=100)
    assert await quota.refusal() is None
    await quota.record(LLMUsage(60, 39, 5000), "answered")
    assert await quota.refusal() is None  # 99 < 100; the cached 5000 do not count
    await quota.record(LLMUsage(30, 30, 0), "answered")  # started under it: counted in full
    assert await quota.refusal() == Refusal(
        "over_daily_quota", {"day": "2024-01-15", "used_tokens": 159, "quota_tokens": 100}
    )
    assert (await quota.usage()).total_tokens == 159  # the month counts them too


async def test_the_daily_quota_starts_again_at_midnight_in_the_tenant_zone() -> None:
    # Madrid is UTC+1 in winter: 16 January starts there at 23:00 UTC on the 15th.
    clock = FrozenClock(datetime(2024, 1, 15, 22, 59, tzinfo=UTC))
    quota = guard(InMemoryUsageStore(), clock, daily=100, per_contact=1)
    await quota.record(LLMUsage(100, 0, 0), "answered", "aaa")
    assert (await quota.refusal("bbb") or Refusal("answered")).outcome == "over_daily_quota"
    clock.advance(minutes=1)  # 23:00 UTC: still the 15th in UTC
    assert quota.current_day() == "2024-01-16"
    assert await quota.refusal("aaa") is None
    assert (await quota.usage_of_day()).total_tokens == 0
    assert (await quota.usage()).total_tokens == 100  # same month: still counted there


async def test_the_daily_rollover_follows_summer_time() -> None:
    # Madrid is UTC+2 in summer: 15 July starts there at 22:00 UTC on the 14th.
    clock = FrozenClock(datetime(2024, 7, 14, 21, 59, 59, tzinfo=UTC))
    quota = guard(InMemoryUsageStore(), clock, daily=10)
    await quota.record(LLMUsage(10, 0, 0), "answered")
    assert await quota.refusal() is not None
    clock.advance(seconds=1)
    assert quota.current_day() == "2024-07-15"
    assert await quota.refusal() is None


async def test_a_contact_gets_n_questions_a_day_and_others_are_not_held_back(
    usage_store: UsageStore,
) -> None:
    clock = FrozenClock(T0)
    quota = guard(usage_store, clock, per_contact=2)
    for _ in range(2):
        assert await quota.refusal("aaa") is None
        await quota.record(LLMUsage(1, 1, 0), "answered", "aaa")
    assert await quota.refusal("aaa") == Refusal(
        "over_contact_quota", {"day": "2024-01-15", "questions": 2, "quota_questions": 2}
    )
    assert await quota.refusal("bbb") is None
    assert await quota.refusal(None) is None  # no contact (no turn): no per-contact budget
    clock.advance(hours=13)  # 01:00 on the 16th in Madrid
    assert await quota.refusal("aaa") is None


async def test_the_budgets_are_checked_month_then_day_then_contact() -> None:
    clock = FrozenClock(T0)
    quota = guard(InMemoryUsageStore(), clock, limit=10, daily=10, per_contact=1)
    await quota.record(LLMUsage(10, 0, 0), "answered", "aaa")
    assert (await quota.refusal("aaa") or Refusal("answered")).outcome == "over_quota"
    quota.limit = None
    assert (await quota.refusal("aaa") or Refusal("answered")).outcome == "over_daily_quota"
    quota.daily_limit = None
    assert (await quota.refusal("aaa") or Refusal("answered")).outcome == "over_contact_quota"


async def test_a_contact_is_stored_only_under_a_per_contact_budget() -> None:
    store = InMemoryUsageStore()
    quota = guard(store, FrozenClock(T0), daily=1000)
    await quota.record(LLMUsage(1, 1, 0), "answered", "aaa")
    assert await store.contact_questions("2024-01-15", "aaa") == 0
    assert store._contacts == {}


async def test_the_first_question_of_a_day_deletes_the_earlier_days(
    usage_store: UsageStore,
) -> None:
    clock = FrozenClock(T0)
    quota = guard(usage_store, clock, daily=1000, per_contact=5)
    await quota.record(LLMUsage(10, 0, 0), "answered", "aaa")
    await quota.record(LLMUsage(10, 0, 0), "answered", "bbb")
    clock.advance(days=1)
    assert await quota.refusal("aaa") is None
    assert await usage_store.get_day("2024-01-15") == DailyUsage("2024-01-15")
    assert await usage_store.contact_questions("2024-01-15", "aaa") == 0
    assert await usage_store.contact_questions("2024-01-15", "bbb") == 0
    assert (await usage_store.get("2024-01")).total_tokens == 20  # the month is kept
    # A later day's rows (a clock set back, a zone changed) are not touched.
    await usage_store.add("2024-01", None, "answered", T0, day="2024-01-20", contact="ccc")
    assert await usage_store.prune_days("2024-01-16") == 0
    assert await usage_store.contact_questions("2024-01-20", "ccc") == 1


async def test_the_sqlite_tables_keep_only_today_s_rows(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    clock = FrozenClock(T0)
    async with await SqliteUsageStore.open(path) as store:
        quota = guard(store, clock, per_contact=5)
        for _ in range(5):
            for contact in ("aaa", "bbb", "ccc"):
                assert await quota.refusal(contact) is None
                await quota.record(LLMUsage(1, 1, 0), "answered", contact)
            clock.advance(days=1)
        assert await quota.refusal("aaa") is None  # the 20th's first question
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT day FROM llm_usage_daily").fetchall() == []
        assert conn.execute("SELECT COUNT(*) FROM llm_contact_questions").fetchone() == (0,)
        assert conn.execute("SELECT month, requests FROM llm_usage").fetchall() == [("2024-01", 15)]


async def test_the_daily_counters_survive_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    clock = FrozenClock(T0)
    async with SqliteTenantStore.open(path) as tenant_store:
        quota = guard(SqliteUsageStore.sharing(tenant_store), clock, daily=100, per_contact=1)
        await quota.record(LLMUsage(70, 30, 0), "answered", "aaa")
    async with SqliteTenantStore.open(path) as tenant_store:
        quota = guard(SqliteUsageStore.sharing(tenant_store), clock, daily=1000, per_contact=1)
        assert (await quota.usage_of_day()).total_tokens == 100
        assert (await quota.refusal("aaa") or Refusal("answered")).outcome == "over_contact_quota"
        assert await quota.refusal("bbb") is None


async def test_a_file_without_the_daily_tables_reads_as_zero_and_gets_them(
    tmp_path: Path,
) -> None:
    # A file of an earlier release: the schema's tables, not the day's (created when needed).
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path):
        pass
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "llm_usage" in tables and "llm_usage_daily" not in tables
    async with await SqliteUsageStore.open(path) as store:
        assert await store.get_day("2024-01-15") == DailyUsage("2024-01-15")
        assert await store.contact_questions("2024-01-15", "aaa") == 0
