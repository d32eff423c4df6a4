"""LLM token counters per tenant (per month and per day), and the budget checks built on them.

A month is a calendar month in the tenant's time zone ("2024-02" starts at 00:00 on 1 February
in Madrid, 23:00 UTC the day before), a day a calendar day there. Input, output and cached
tokens are kept apart: `input_tokens` counts prompt tokens not read from the provider's cache
(cache writes included), `cached_tokens` the prompt tokens read from it. The token quotas count
input + output (`LLMUsage.total`); cached reads are billed at a fraction of the price and would
otherwise make a long knowledge document exhaust a quota in a few questions.

Three budgets, each optional: the month's tokens (`quota_monthly_tokens`), the day's tokens
(`quota_daily_tokens`) and the questions one contact may have handed to the provider in a day
(`quota_daily_questions_per_contact`). They are checked before each call, so they are soft: a
call that starts under a quota is recorded in full even if it ends above it; the next question
gets the safe fallback.

Questions in flight count too (`QuotaGuard.admit`): each holds, in this process's memory, an
estimate of its tokens (the prompt's plus the answer's `max_tokens`) and one question of its
contact, from the check until its usage is recorded (`record`) or it ends otherwise
(`release`). Without that, a burst of concurrent questions (a web chat visitor with a new
contact id for each) would all pass the check before the first is counted, and overshoot the
quota by as many calls as there were in flight.

Counters live in the tenant's SQLite file: the month's in table `llm_usage` (schema step 2 in
`adapters/stores/_sqlite_schema.py`), the day's in `llm_usage_daily` and
`llm_contact_questions`, created when first used rather than by a schema step, so the file stays
readable by earlier releases (as `contact_move` is). Only today's rows are kept: the first
question of a new day deletes the earlier days' (`QuotaGuard.refusal`). A contact is named there
by the keyed hash the logs use (`botfleet.contact_hash`), never by its id.
`InMemoryUsageStore` is the same thing for tests and dev.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from botfleet.adapters.stores._sqlite_database import SqliteDatabase, connect
from botfleet.adapters.stores._sqlite_group_commit import GroupCommit
from botfleet.adapters.stores._sqlite_schema import prepare
from botfleet.adapters.stores._sqlite_tables import one_transaction
from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.domain.timezones import check_zone_name
from botfleet.ports.clock import Clock
from botfleet.ports.connectors import LLMUsage

Outcome = Literal[
    "answered", "out_of_scope", "error", "over_quota", "over_daily_quota", "over_contact_quota"
]
#: The budgets' refusals: questions never handed to the provider.
REFUSALS: frozenset[str] = frozenset({"over_quota", "over_daily_quota", "over_contact_quota"})
#: Refusals of the daily budgets: counted in the day's counters only (the month's table, older
#: than them, has no column for them; the metric counts them for longer).
_DAILY_ONLY = frozenset({"over_daily_quota", "over_contact_quota"})
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DAY = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
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
_DAY_COUNTERS = (*_COUNTERS, "over_daily_quota", "over_contact_quota")


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


def day_of(moment: datetime, timezone: str) -> str:
    """`YYYY-MM-DD` of `moment` (aware) on the tenant's wall clock.

    Raises:
        ValueError: a time zone `check_zone_name` refuses.
    """
    local = moment.astimezone(_zone(timezone))
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    # Cached, check included: `month_of` runs a few times per question (and a cache hit is
    # cheaper than `ZoneInfo(name)`, itself a cache lookup).
    return ZoneInfo(check_zone_name(name))


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageCounters:
    """The counters a month and a day share. `requests` are provider calls; the outcomes count
    questions. Keyword-only, so each period's key comes first in its own class."""

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
        """What the quotas count: input + output (cached reads are reported, not counted)."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class MonthlyUsage(UsageCounters):
    """One month's counters."""

    month: str


@dataclass(frozen=True, slots=True)
class DailyUsage(UsageCounters):
    """One day's counters: the month's, and the refusals of the daily budgets."""

    day: str
    over_daily_quota: int = field(default=0, kw_only=True)
    over_contact_quota: int = field(default=0, kw_only=True)


def _row_counters(row: Sequence[Any], names: Sequence[str]) -> dict[str, int]:
    """A usage row's counters by name (the row's first column is its period)."""
    return {name: int(value) for name, value in zip(names, row[1:], strict=True)}


def _delta(usage: LLMUsage | None, outcome: Outcome) -> dict[str, int]:
    """The counter increments of one question (`_DAY_COUNTERS`; the month's are a subset)."""
    u = usage or LLMUsage()
    return {
        "input_tokens": max(u.input_tokens, 0),
        "output_tokens": max(u.output_tokens, 0),
        "cached_tokens": max(u.cached_tokens, 0),
        "requests": int(outcome not in REFUSALS),
        "answered": int(outcome == "answered"),
        "out_of_scope": int(outcome == "out_of_scope"),
        "errors": int(outcome == "error"),
        "over_quota": int(outcome == "over_quota"),
        "over_daily_quota": int(outcome == "over_daily_quota"),
        "over_contact_quota": int(outcome == "over_contact_quota"),
    }


class UsageStore(Protocol):
    """Where the counters are kept."""

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
        """Add one question's tokens and outcome to `month`'s counters and, with `day`, to
        that day's; with `contact` too, one more question of that contact on `day` (when
        the question was handed to the provider: not for a refusal). All in one transaction.
        The daily refusals (`over_daily_quota`, `over_contact_quota`) count in the day only."""
        ...

    async def get(self, month: str) -> MonthlyUsage:
        """The month's counters (all zero when nothing was recorded)."""
        ...

    async def months(self) -> list[str]:
        """Months with any record, oldest first."""
        ...

    async def get_day(self, day: str) -> DailyUsage:
        """The day's counters (all zero when nothing was recorded, or they were pruned)."""
        ...

    async def contact_questions(self, day: str, contact: str) -> int:
        """Questions of `contact` handed to the provider on `day`."""
        ...

    async def prune_days(self, before: str) -> int:
        """Delete the daily and per-contact counters of the days before `before`; returns the
        rows deleted."""
        ...


class InMemoryUsageStore:
    """`UsageStore` in a dict: tests, the simulator and stores that are not SQLite."""

    def __init__(self) -> None:
        self._rows: dict[str, MonthlyUsage] = {}
        self._days: dict[str, DailyUsage] = {}
        self._contacts: dict[tuple[str, str], int] = {}

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
        delta = _delta(usage, outcome)
        if outcome not in _DAILY_ONLY:
            row = self._rows.get(month, MonthlyUsage(month))
            self._rows[month] = dataclasses.replace(
                row, **{name: getattr(row, name) + delta[name] for name in _COUNTERS}
            )
        if day is None:
            return
        today = self._days.get(day, DailyUsage(day))
        self._days[day] = dataclasses.replace(
            today, **{name: getattr(today, name) + delta[name] for name in _DAY_COUNTERS}
        )
        if contact is not None and delta["requests"]:
            self._contacts[day, contact] = self._contacts.get((day, contact), 0) + 1

    async def get(self, month: str) -> MonthlyUsage:
        return self._rows.get(month, MonthlyUsage(month))

    async def months(self) -> list[str]:
        return sorted(self._rows)

    async def get_day(self, day: str) -> DailyUsage:
        return self._days.get(day, DailyUsage(day))

    async def contact_questions(self, day: str, contact: str) -> int:
        return self._contacts.get((day, contact), 0)

    async def prune_days(self, before: str) -> int:
        days = [d for d in self._days if d < before]
        contacts = [key for key in self._contacts if key[0] < before]
        for d in days:
            del self._days[d]
        for key in contacts:
            del self._contacts[key]
        return len(days) + len(contacts)

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
# The day's tables: not a schema step (see the module doc). Only today's rows are kept, so
# `llm_contact_questions` holds one row per contact who asked today.
_CREATE_DAILY = (
    "CREATE TABLE IF NOT EXISTS llm_usage_daily (day TEXT PRIMARY KEY, "  # YYYY-MM-DD, local
    + ", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in _DAY_COUNTERS)
    + ", updated_at TEXT NOT NULL)"
)
_CREATE_CONTACTS = (
    "CREATE TABLE IF NOT EXISTS llm_contact_questions (day TEXT NOT NULL, "
    "contact TEXT NOT NULL, "  # the contact's keyed hash (botfleet.contact_hash), not its id
    "questions INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, contact)) WITHOUT ROWID"
)
_UPSERT_DAY = (
    f"INSERT INTO llm_usage_daily (day, {', '.join(_DAY_COUNTERS)}, updated_at) "
    f"VALUES (?, {', '.join('?' for _ in _DAY_COUNTERS)}, ?) "
    "ON CONFLICT (day) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in _DAY_COUNTERS)
    + ", updated_at = excluded.updated_at"
)
_SELECT_DAY = f"SELECT day, {', '.join(_DAY_COUNTERS)} FROM llm_usage_daily WHERE day = ?"
_UPSERT_CONTACT = (
    "INSERT INTO llm_contact_questions (day, contact, questions) VALUES (?, ?, 1) "
    "ON CONFLICT (day, contact) DO UPDATE SET questions = questions + 1"
)
_SELECT_CONTACT = "SELECT questions FROM llm_contact_questions WHERE day = ? AND contact = ?"


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
        self._daily_ready = False

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
        delta = _delta(usage, outcome)
        statements: list[tuple[str, list[object]]] = []
        if outcome not in _DAILY_ONLY:
            statements.append((_UPSERT, [month, *(delta[c] for c in _COUNTERS), at.isoformat()]))
        if day is not None:
            await self._daily_tables()
            statements.append(
                (_UPSERT_DAY, [day, *(delta[c] for c in _DAY_COUNTERS), at.isoformat()])
            )
            if contact is not None and delta["requests"]:
                statements.append((_UPSERT_CONTACT, [day, contact]))

        def work(conn: sqlite3.Connection) -> None:
            for sql, params in statements:
                conn.execute(sql, params)

        await self._group.run(
            f"record LLM usage of {day or month}", work, one_statement=len(statements) == 1
        )

    async def get(self, month: str) -> MonthlyUsage:
        rows = await self._db.fetch(f"read LLM usage of {month}", _SELECT, [month])
        if not rows:
            return MonthlyUsage(month)
        return MonthlyUsage(month, **_row_counters(rows[0], _COUNTERS))

    async def months(self) -> list[str]:
        rows = await self._db.fetch("list LLM usage months", "SELECT month FROM llm_usage")
        return sorted(str(r[0]) for r in rows)

    async def get_day(self, day: str) -> DailyUsage:
        await self._daily_tables()
        rows = await self._db.fetch(f"read LLM usage of {day}", _SELECT_DAY, [day])
        if not rows:
            return DailyUsage(day)
        return DailyUsage(day, **_row_counters(rows[0], _DAY_COUNTERS))

    async def contact_questions(self, day: str, contact: str) -> int:
        await self._daily_tables()
        rows = await self._db.fetch(
            f"read a contact's LLM questions of {day}", _SELECT_CONTACT, [day, contact]
        )
        return int(rows[0][0]) if rows else 0

    async def prune_days(self, before: str) -> int:
        await self._daily_tables()

        def work(conn: sqlite3.Connection) -> int:
            return sum(
                conn.execute(f"DELETE FROM {table} WHERE day < ?", [before]).rowcount
                for table in ("llm_usage_daily", "llm_contact_questions")
            )

        return await self._group.run(f"delete the LLM daily counters before {before}", work)

    async def _daily_tables(self) -> None:
        """Create the day's tables the first time this store needs them."""
        if self._daily_ready:
            return

        def create(conn: sqlite3.Connection) -> None:
            conn.execute(_CREATE_DAILY)
            conn.execute(_CREATE_CONTACTS)

        await self._db.run("create the LLM daily counters", one_transaction(create))
        self._daily_ready = True

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


@dataclass(eq=False, slots=True)
class Reservation:
    """What a question in flight holds (`QuotaGuard.admit`): its estimated tokens and, asked in
    a contact's turn, one of that contact's questions. Released once (`QuotaGuard.release`)."""

    tokens: int
    contact: str | None
    released: bool = False


@dataclass(eq=False, slots=True)
class _Window:
    """What was recorded (and released) while a check was reading the store: the read may
    or may not have seen it, so the check counts it (`QuotaGuard._check`)."""

    tokens: int = 0
    contacts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a question is not handed to the provider: the outcome, and its log line's fields."""

    outcome: Outcome
    fields: dict[str, str | int] = field(default_factory=dict)


class QuotaGuard:
    """The tenant's budgets over a `UsageStore`; months and days follow the tenant's zone.

    `limit`: the month's input + output tokens; `daily_limit`: the day's; `contact_limit`: the
    questions one contact may have handed to the provider in a day. None: no such budget.
    """

    def __init__(
        self,
        store: UsageStore,
        *,
        limit: int | None,
        timezone: str,
        clock: Clock,
        daily_limit: int | None = None,
        contact_limit: int | None = None,
    ) -> None:
        """Raises ValueError for a time zone `check_zone_name` refuses (at start, not at the
        first question)."""
        try:
            _zone(timezone)
        except ValueError as exc:
            raise ValueError(f"LLM quota timezone: {exc}") from None
        self.store, self.limit, self.timezone, self.clock = store, limit, timezone, clock
        self.daily_limit, self.contact_limit = daily_limit, contact_limit
        #: The day whose earlier days' rows this process deleted last (None: not yet).
        self._pruned_for: str | None = None
        #: Tokens and contacts' questions held by the questions in flight (`admit`).
        self._reserved_tokens = 0
        self._reserved_contacts: dict[str, int] = {}
        #: The checks reading the store right now (`_check`).
        self._windows: set[_Window] = set()

    def current_month(self) -> str:
        return month_of(self.clock.now(), self.timezone)

    def current_day(self) -> str:
        return day_of(self.clock.now(), self.timezone)

    @property
    def reserved_tokens(self) -> int:
        """Tokens held by the questions in flight."""
        return self._reserved_tokens

    async def refusal(self, contact: str | None = None) -> Refusal | None:
        """The first budget this question would go over, or None: the month's tokens, the
        day's, then `contact`'s questions of the day (None: a question outside a contact's
        turn, which no per-contact budget holds back). The questions in flight count as if
        recorded (`admit`). Deletes the earlier days' counters at the first question of a
        day."""
        return await self._check(contact)

    async def admit(self, contact: str | None, tokens: int) -> Refusal | Reservation:
        """`refusal`, or, when none, a `Reservation` of `tokens` (the question's estimate) and of
        one of `contact`'s questions, counted by every later check until it is recorded
        (`record(..., reservation=)`) or released (`release`): call `release` in a `finally`.
        """
        refused = await self._check(contact)
        if refused is not None:
            return refused
        # No await between the check's last read and this: on one event loop, no other
        # question's check can run in between.
        held = Reservation(max(tokens, 0), contact)
        self._reserved_tokens += held.tokens
        if contact is not None:
            self._reserved_contacts[contact] = self._reserved_contacts.get(contact, 0) + 1
        return held

    def release(self, reservation: Reservation) -> None:
        """Let go of what `reservation` holds; a second call does nothing."""
        if reservation.released:
            return
        reservation.released = True
        self._reserved_tokens -= reservation.tokens
        contact = reservation.contact
        if contact is not None:
            left = self._reserved_contacts.get(contact, 0) - 1
            if left > 0:
                self._reserved_contacts[contact] = left
            else:
                self._reserved_contacts.pop(contact, None)

    async def _check(self, contact: str | None) -> Refusal | None:
        now = self.clock.now()
        month, day = month_of(now, self.timezone), day_of(now, self.timezone)
        if self._pruned_for != day:
            # Once a day per process, on the path of a question (never of an FSM turn).
            await self.store.prune_days(day)
            self._pruned_for = day
        # Everything is read first, then judged with no await: the questions in flight
        # (reserved) and those recorded during the reads (`window`) are counted at one moment.
        window = _Window()
        self._windows.add(window)
        try:
            month_used = (await self.store.get(month)).total_tokens if self.limit is not None else 0
            day_used = (
                (await self.store.get_day(day)).total_tokens if self.daily_limit is not None else 0
            )
            asked = (
                await self.store.contact_questions(day, contact)
                if self.contact_limit is not None and contact is not None
                else 0
            )
        finally:
            self._windows.discard(window)
        in_flight = self._reserved_tokens + window.tokens
        if self.limit is not None and month_used + in_flight >= self.limit:
            return Refusal(
                "over_quota",
                {
                    "month": month,
                    "used_tokens": month_used,
                    **self._in_flight_field(in_flight),
                    "quota_tokens": self.limit,
                },
            )
        if self.daily_limit is not None and day_used + in_flight >= self.daily_limit:
            return Refusal(
                "over_daily_quota",
                {
                    "day": day,
                    "used_tokens": day_used,
                    **self._in_flight_field(in_flight),
                    "quota_tokens": self.daily_limit,
                },
            )
        if self.contact_limit is not None and contact is not None:
            asked += self._reserved_contacts.get(contact, 0) + window.contacts.get(contact, 0)
            if asked >= self.contact_limit:
                return Refusal(
                    "over_contact_quota",
                    {"day": day, "questions": asked, "quota_questions": self.contact_limit},
                )
        return None

    @staticmethod
    def _in_flight_field(tokens: int) -> dict[str, int]:
        # Only when some are: the usual refusal (the quota spent) reads as before.
        return {"in_flight_tokens": tokens} if tokens else {}

    async def allows(self, contact: str | None = None) -> bool:
        """False once a budget is spent (`refusal`)."""
        return await self.refusal(contact) is None

    async def record(
        self,
        usage: LLMUsage | None,
        outcome: Outcome,
        contact: str | None = None,
        *,
        reservation: Reservation | None = None,
    ) -> None:
        """Count one question in the month's and the day's counters, and, under a per-contact
        budget, in `contact`'s questions of the day (only then is a contact's hash stored).
        Then release `reservation` (also when the write fails)."""
        now = self.clock.now()
        counted_contact = contact if self.contact_limit is not None else None
        try:
            await self.store.add(
                month_of(now, self.timezone),
                usage,
                outcome,
                now,
                day=day_of(now, self.timezone),
                contact=counted_contact,
            )
        except BaseException:
            if reservation is not None:
                self.release(reservation)
            raise
        if reservation is not None and not reservation.released:
            # The checks reading now may have read the store before this write: they count
            # it (`_Window`), as they counted the reservation it replaces.
            delta = _delta(usage, outcome)
            tokens = delta["input_tokens"] + delta["output_tokens"]
            for window in self._windows:
                window.tokens += tokens
                if counted_contact is not None and delta["requests"]:
                    window.contacts[counted_contact] = window.contacts.get(counted_contact, 0) + 1
            self.release(reservation)

    async def usage(self, month: str | None = None) -> MonthlyUsage:
        return await self.store.get(month or self.current_month())

    async def usage_of_day(self, day: str | None = None) -> DailyUsage:
        return await self.store.get_day(day or self.current_day())
