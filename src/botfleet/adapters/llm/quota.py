"""Monthly LLM token counters per tenant, and the quota check built on them.

A month is a calendar month in the tenant's time zone ("2024-02" starts at 00:00 on 1 February
in Madrid, 23:00 UTC the day before). Input, output and cached tokens are kept apart:
`input_tokens` counts prompt tokens not read from the provider's cache (cache writes included),
`cached_tokens` the prompt tokens read from it. The quota counts input + output (`LLMUsage.total`);
cached reads are billed at a fraction of the price and would otherwise make a long knowledge
document exhaust the quota in a few questions.

The quota is checked before each call, so it is soft: a call that starts under the quota is
recorded in full even if it ends above it; the next question gets the safe fallback.

Counters live in the tenant's SQLite file (table `llm_usage`, schema step 2 in
`adapters/stores/_sqlite_schema.py`); `InMemoryUsageStore` is the same thing for tests and dev.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from botfleet.adapters.stores._sqlite_database import SqliteDatabase, connect
from botfleet.adapters.stores._sqlite_group_commit import GroupCommit
from botfleet.adapters.stores._sqlite_schema import prepare
from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.domain.timezones import check_zone_name
from botfleet.ports.clock import Clock
from botfleet.ports.connectors import LLMUsage

Outcome = Literal["answered", "out_of_scope", "error", "over_quota"]
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_COUNTERS = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "requests",
    "answered",
    "out_of_scope",
    "errors",
    "over_quota",
)


def month_of(moment: datetime, timezone: str) -> str:
    """`YYYY-MM` of `moment` (aware) on the tenant's wall clock.

    Raises:
        ValueError: a time zone `check_zone_name` refuses (``localtime``, unknown...).
    """
    local = moment.astimezone(_zone(timezone))
    # Formatted by hand: strftime was half of this function's cost, and it is called a few
    # times per LLM question (quota check, usage record). `%Y` would also drop the leading
    # zeros of a year before 1000, which `MONTH` would then refuse.
    return f"{local.year:04d}-{local.month:02d}"


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    # Cached, check included: `month_of` runs a few times per question (and a cache hit is
    # cheaper than `ZoneInfo(name)`, itself a cache lookup).
    return ZoneInfo(check_zone_name(name))


@dataclass(frozen=True, slots=True)
class MonthlyUsage:
    """One month's counters. `requests` are provider calls; the outcomes count questions."""

    month: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    requests: int = 0
    answered: int = 0
    out_of_scope: int = 0
    errors: int = 0
    over_quota: int = 0

    @property
    def total_tokens(self) -> int:
        """What the quota counts: input + output (cached reads are reported, not counted)."""
        return self.input_tokens + self.output_tokens


def _delta(usage: LLMUsage | None, outcome: Outcome) -> dict[str, int]:
    """The counter increments of one question."""
    u = usage or LLMUsage()
    return {
        "input_tokens": max(u.input_tokens, 0),
        "output_tokens": max(u.output_tokens, 0),
        "cached_tokens": max(u.cached_tokens, 0),
        "requests": 0 if outcome == "over_quota" else 1,
        "answered": int(outcome == "answered"),
        "out_of_scope": int(outcome == "out_of_scope"),
        "errors": int(outcome == "error"),
        "over_quota": int(outcome == "over_quota"),
    }


class UsageStore(Protocol):
    """Where monthly counters are kept."""

    async def add(self, month: str, usage: LLMUsage | None, outcome: Outcome, at: datetime) -> None:
        """Add one question's tokens and outcome to `month`'s counters (atomically)."""
        ...

    async def get(self, month: str) -> MonthlyUsage:
        """The month's counters (all zero when nothing was recorded)."""
        ...

    async def months(self) -> list[str]:
        """Months with any record, oldest first."""
        ...


class InMemoryUsageStore:
    """`UsageStore` in a dict: tests, the simulator and stores that are not SQLite."""

    def __init__(self) -> None:
        self._rows: dict[str, MonthlyUsage] = {}

    async def add(self, month: str, usage: LLMUsage | None, outcome: Outcome, at: datetime) -> None:
        row = self._rows.get(month, MonthlyUsage(month))
        delta = _delta(usage, outcome)
        self._rows[month] = dataclasses.replace(
            row, **{name: getattr(row, name) + delta[name] for name in _COUNTERS}
        )

    async def get(self, month: str) -> MonthlyUsage:
        return self._rows.get(month, MonthlyUsage(month))

    async def months(self) -> list[str]:
        return sorted(self._rows)

    async def close(self) -> None:
        return None


_UPSERT = (
    f"INSERT INTO llm_usage (month, {', '.join(_COUNTERS)}, updated_at) "
    f"VALUES (?, {', '.join('?' for _ in _COUNTERS)}, ?) "
    "ON CONFLICT (month) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in _COUNTERS)
    + ", updated_at = excluded.updated_at"
)
_SELECT = f"SELECT month, {', '.join(_COUNTERS)} FROM llm_usage WHERE month = ?"


class SqliteUsageStore:
    """`UsageStore` in the tenant's SQLite file: on the tenant store's own connection
    (`sharing`), so a file has one connection and one checkpointer and the counters' writes
    join the store's group commits; or on a connection of its own (`open`)."""

    def __init__(
        self,
        database: SqliteDatabase,
        group_commit: GroupCommit | None = None,
        *,
        owns_database: bool = True,
    ) -> None:
        self._db = database
        self._group = group_commit or GroupCommit(database)
        self._owns_database = owns_database
        self.path = database.path

    @classmethod
    def sharing(cls, store: SqliteTenantStore) -> SqliteUsageStore:
        """The counters in `store`'s file, through its connection (`close` leaves it open)."""
        return cls(store.database, store.group_commit, owns_database=False)

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout: float = 5.0) -> SqliteUsageStore:
        """Open the tenant's file (creating and migrating it if needed). Raises `StoreError`."""
        path = Path(path)
        conn = connect(path, "the LLM usage counters")
        try:
            prepare(conn, path, busy_timeout)
        except BaseException:
            conn.close()
            raise
        return cls(SqliteDatabase(conn, path, busy_timeout=busy_timeout))

    async def add(self, month: str, usage: LLMUsage | None, outcome: Outcome, at: datetime) -> None:
        delta = _delta(usage, outcome)
        params = [month, *(delta[c] for c in _COUNTERS), at.isoformat()]
        await self._group.run(
            f"record LLM usage of {month}",
            lambda conn: conn.execute(_UPSERT, params).rowcount,
            one_statement=True,
        )

    async def get(self, month: str) -> MonthlyUsage:
        rows = await self._db.fetch(f"read LLM usage of {month}", _SELECT, [month])
        if not rows:
            return MonthlyUsage(month)
        return MonthlyUsage(*rows[0])

    async def months(self) -> list[str]:
        rows = await self._db.fetch("list LLM usage months", "SELECT month FROM llm_usage")
        return sorted(str(r[0]) for r in rows)

    async def close(self) -> None:
        if self._owns_database:
            await self._db.close()

    async def __aenter__(self) -> SqliteUsageStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class QuotaGuard:
    """The tenant's monthly quota over a `UsageStore`; months follow the tenant's time zone."""

    def __init__(
        self, store: UsageStore, *, limit: int | None, timezone: str, clock: Clock
    ) -> None:
        """Raises ValueError for a time zone `check_zone_name` refuses (at start, not at the
        first question)."""
        try:
            _zone(timezone)
        except ValueError as exc:
            raise ValueError(f"LLM quota timezone: {exc}") from None
        self.store, self.limit, self.timezone, self.clock = store, limit, timezone, clock

    def current_month(self) -> str:
        return month_of(self.clock.now(), self.timezone)

    async def allows(self) -> bool:
        """False once this month's input + output tokens reached the limit (None: no limit)."""
        if self.limit is None:
            return True
        used = await self.store.get(self.current_month())
        return used.total_tokens < self.limit

    async def record(self, usage: LLMUsage | None, outcome: Outcome) -> None:
        await self.store.add(self.current_month(), usage, outcome, self.clock.now())

    async def usage(self, month: str | None = None) -> MonthlyUsage:
        return await self.store.get(month or self.current_month())
