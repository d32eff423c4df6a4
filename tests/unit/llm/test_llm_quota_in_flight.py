"""Questions in flight count against the LLM budgets: a burst of concurrent questions (a web chat
visitor with a new contact id for each) cannot all pass the check before the first is recorded,
and what a question holds goes back however it ends (answer, provider error, crash,
cancellation, a failed write)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from botfleet.adapters.llm.quota import (
    DailyUsage,
    InMemoryUsageStore,
    Outcome,
    QuotaGuard,
    Refusal,
    Reservation,
    SqliteUsageStore,
    UsageStore,
)
from botfleet.adapters.stores import SqliteTenantStore
from botfleet.data_plane.llm_fallback import KnowledgeLLMFallback, build_llm_fallback
from botfleet.data_plane.observability import turn_identity
from botfleet.domain.errors import ConnectorUnavailable
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping
from botfleet.ports.connectors import Answer, LLMContext, LLMUsage
from botfleet.testing.clock import FrozenClock
from botfleet.testing.llm import context, in_scope

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
FLOW = {"id": "f", "initial_state": "A", "states": {"A": {}}}
SAFE = "Sorry, call us."
#: A question's real tokens in these tests (prompt not cached + answer).
PER_QUESTION = LLMUsage(8_000, 500)


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


class Arrivals:
    """Set `all` once `total` questions were either refused or handed to the provider."""

    def __init__(self, total: int) -> None:
        self.count, self.total, self.all = 0, total, asyncio.Event()

    def one(self, *_: object) -> None:
        self.count += 1
        if self.count >= self.total:
            self.all.set()


def guard(store: UsageStore, **limits: int | None) -> QuotaGuard:
    return QuotaGuard(
        store,
        limit=limits.get("limit"),
        daily_limit=limits.get("daily"),
        contact_limit=limits.get("per_contact"),
        timezone="UTC",
        clock=FrozenClock(T0),
    )


# ---------------------------------------------------------------- the guard


async def test_a_burst_of_concurrent_questions_stays_within_the_daily_quota(
    usage_store: UsageStore,
) -> None:
    quota = guard(usage_store, daily=10_000, per_contact=1)
    release, arrivals = asyncio.Event(), Arrivals(100)

    async def question(i: int) -> bool:
        admitted = await quota.admit(f"visitor-{i}", PER_QUESTION.total)
        if isinstance(admitted, Refusal):
            await quota.record(None, admitted.outcome)
            arrivals.one()
            return False
        try:
            arrivals.one()
            await release.wait()  # the provider call: all the burst is in flight at once
            await quota.record(PER_QUESTION, "answered", f"visitor-{i}", reservation=admitted)
        finally:
            quota.release(admitted)
        return True

    tasks = [asyncio.create_task(question(i)) for i in range(100)]
    await arrivals.all.wait()
    release.set()
    passed = sum(await asyncio.gather(*tasks))
    today = await quota.usage_of_day()
    # soft by one call, as without concurrency: 0 + 8,500 < 10,000 lets the second one start
    assert passed == 2
    assert today.total_tokens <= 10_000 + PER_QUESTION.total
    assert today.over_daily_quota == 98
    assert quota.reserved_tokens == 0


async def test_the_monthly_quota_counts_questions_in_flight_too() -> None:
    quota = guard(InMemoryUsageStore(), limit=1_000)
    held = await quota.admit(None, 600)
    assert isinstance(held, Reservation)
    second = await quota.admit(None, 600)  # 600 in flight < 1,000: soft by one call
    assert isinstance(second, Reservation)
    assert await quota.admit(None, 600) == Refusal(
        "over_quota",
        {"month": "2026-01", "used_tokens": 0, "in_flight_tokens": 1_200, "quota_tokens": 1_000},
    )
    quota.release(held)
    quota.release(second)
    assert await quota.refusal() is None


async def test_a_refusal_names_the_tokens_in_flight() -> None:
    quota = guard(InMemoryUsageStore(), daily=1_000)
    held = await quota.admit(None, 1_000)
    assert isinstance(held, Reservation)
    refused = await quota.refusal()
    assert refused == Refusal(
        "over_daily_quota",
        {"day": "2026-01-05", "used_tokens": 0, "in_flight_tokens": 1_000, "quota_tokens": 1_000},
    )
    quota.release(held)
    quota.release(held)  # a second release gives nothing back twice
    assert quota.reserved_tokens == 0
    assert await quota.refusal() is None


async def test_one_contacts_concurrent_questions_count_against_its_daily_questions() -> None:
    quota = guard(InMemoryUsageStore(), per_contact=1)
    first = await quota.admit("c1", 10)
    assert isinstance(first, Reservation)
    second = await quota.admit("c1", 10)
    assert isinstance(second, Refusal) and second.outcome == "over_contact_quota"
    assert isinstance(await quota.admit("c2", 10), Reservation), "other contacts are not held"
    await quota.record(LLMUsage(5, 5), "answered", "c1", reservation=first)
    assert first.released
    again = await quota.admit("c1", 10)
    assert isinstance(again, Refusal), "the recorded question counts from the store now"


@dataclass
class SlowReads:
    """A store whose day read returns what it read, after `gate`: a question recorded in
    between is not in what the check reads."""

    inner: InMemoryUsageStore
    gate: asyncio.Event
    reading: asyncio.Event

    async def get_day(self, day: str) -> DailyUsage:
        read = await self.inner.get_day(day)
        self.reading.set()
        await self.gate.wait()
        return read

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_question_recorded_while_a_check_reads_is_counted_by_it() -> None:
    store = SlowReads(InMemoryUsageStore(), asyncio.Event(), asyncio.Event())
    store.gate.set()
    quota = guard(store, daily=10_000)  # type: ignore[arg-type]
    first = await quota.admit(None, 5_000)
    assert isinstance(first, Reservation)
    store.gate.clear()
    store.reading.clear()
    checking = asyncio.create_task(quota.refusal())
    await store.reading.wait()  # the check has read today's 0 tokens
    # the first question ends above its estimate, while the check still holds its stale read
    await quota.record(LLMUsage(9_000, 1_000), "answered", reservation=first)
    assert quota.reserved_tokens == 0
    store.gate.set()
    refused = await checking
    assert refused is not None and refused.outcome == "over_daily_quota"


class FailingWrites(InMemoryUsageStore):
    async def add(
        self,
        month: str,
        usage: LLMUsage | None,
        outcome: Outcome,
        at: datetime,
        *,
        day: str | None = None,
        contact: str | None = None,
    ) -> None:
        raise OSError("disk full")


async def test_a_failed_write_still_releases_the_reservation() -> None:
    quota = guard(FailingWrites(), daily=1_000, per_contact=1)
    held = await quota.admit("c1", 900)
    assert isinstance(held, Reservation)
    with pytest.raises(OSError):
        await quota.record(LLMUsage(1, 1), "answered", "c1", reservation=held)
    assert held.released and quota.reserved_tokens == 0
    assert await quota.refusal("c1") is None


# ---------------------------------------------------------------- the fallback


@dataclass
class Live:
    knowledge: str = "- Hours: 10-14.\n"
    knowledge_version: str = ""

    def swap_knowledge(self, text: str, version: str) -> None:
        self.knowledge, self.knowledge_version = text, version


@dataclass
class GatedLLM:
    """Answers (or raises `outcome`) once `gate` is set; counts the calls started."""

    gate: asyncio.Event
    outcome: BaseException | None = None
    started: int = 0
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    arrivals: Arrivals | None = None
    category: str = "llm"

    async def answer(self, question: str, knowledge: str, context: LLMContext) -> Answer:
        self.started += 1
        self.entered.set()
        if self.arrivals is not None:
            self.arrivals.one()
        await self.gate.wait()
        if self.outcome is not None:
            raise self.outcome
        return in_scope("We open at 10.", input_tokens=8_000, output_tokens=500)


@dataclass(frozen=True)
class Contact:
    contact_hash: str


def tenant(**llm: Any) -> TenantConfig:
    settings = {
        "enabled": True,
        "fallback_text": SAFE,
        "resilience": {"max_attempts": 1},
        **llm,
    }
    return tenant_config_from_mapping(
        {"tenant_id": "t1", "timezone": "UTC", "flow": FLOW, "llm": settings},
        source="t1.yaml",
    )


def fallback(llm: Any, config: TenantConfig, live: Live | None = None) -> KnowledgeLLMFallback:
    return build_llm_fallback(
        config,
        live=live or Live(),
        usage=InMemoryUsageStore(),
        clock=FrozenClock(T0),
        max_text=4096,
        registry=CollectorRegistry(),
        connector=llm,
    )


async def ask_as(fb: KnowledgeLLMFallback, contact: str, question: str = "When?") -> str | None:
    with turn_identity("t1", Contact(contact)):
        reply = await fb.reply(question, context(), "")
    return None if reply is None else reply.text


async def test_concurrent_visitors_cannot_spend_more_than_the_daily_quota() -> None:
    # A 30,000-byte document: about 7,500 tokens; with 512 for the answer, three questions
    # in flight hold more than the day's 20,000.
    live = Live("x" * 30_000)
    arrivals = Arrivals(50)
    llm = GatedLLM(asyncio.Event(), arrivals=arrivals)
    fb = fallback(llm, tenant(quota_daily_tokens=20_000), live)
    tasks = [asyncio.create_task(ask_as(fb, f"visitor-{i}")) for i in range(50)]
    for task in tasks:  # a refused question ends; an admitted one waits for the gate
        task.add_done_callback(arrivals.one)
    await arrivals.all.wait()
    in_flight = llm.started
    llm.gate.set()
    replies = await asyncio.gather(*tasks)
    today = await fb.quota.usage_of_day()
    assert in_flight == 3
    assert replies.count("We open at 10.") == 3
    assert replies.count(SAFE) == 47
    assert today.total_tokens <= 20_000 + PER_QUESTION.total
    assert fb.quota.reserved_tokens == 0


@pytest.mark.parametrize(
    "failure",
    [ConnectorUnavailable("llm", "down"), RuntimeError("a bug")],
    ids=["provider error", "crash"],
)
async def test_what_a_failed_question_held_goes_back(failure: BaseException) -> None:
    llm = GatedLLM(asyncio.Event(), outcome=failure)
    fb = fallback(llm, tenant(quota_daily_tokens=100_000, quota_daily_questions_per_contact=5))
    asking = asyncio.create_task(ask_as(fb, "c1"))
    await llm.entered.wait()
    assert fb.quota.reserved_tokens > 0
    llm.gate.set()
    assert await asking == SAFE
    assert fb.quota.reserved_tokens == 0
    assert await fb.quota.refusal("c1") is None


async def test_a_cancelled_question_gives_back_what_it_held() -> None:
    llm = GatedLLM(asyncio.Event())
    fb = fallback(llm, tenant(quota_daily_tokens=100_000, quota_daily_questions_per_contact=1))
    asking = asyncio.create_task(ask_as(fb, "c1"))
    await llm.entered.wait()
    assert fb.quota.reserved_tokens > 0
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking
    assert fb.quota.reserved_tokens == 0
    assert await fb.quota.refusal("c1") is None, "a question never answered is not counted"


async def test_a_question_without_a_document_holds_nothing_afterwards() -> None:
    fb = fallback(GatedLLM(asyncio.Event()), tenant(quota_daily_tokens=1_000), Live(""))
    assert await ask_as(fb, "c1") == SAFE
    assert fb.quota.reserved_tokens == 0
