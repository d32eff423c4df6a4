"""`calendar_pool`: one calendar binding answering for several (a contact's "anyone").

The pool holds the members' connectors as the catalog built them (the very instances bound
under `calendar.ana`, `calendar.rui`, so a booking through the pool and one through the member
share the member's write lock and see each other). It reaches them bare: the members' own
`resilience` policies wrap calls made to them by name, not the pool's calls; the pool's policy
wraps the whole pool call (docs/connectors.md, "Anyone on the team").

* days and slots: the union of what the members offer, one item per id; a member that fails is
  left out (a warning naming it), so one barber's broken calendar does not hide the other's
  times; all failing, the first member's error.
* a booking: the members in the listed order, the first that books the slot wins; a refusal
  (`slot_taken`, `unavailable`) or a failure of one moves on to the next. A retry (same
  idempotency key) first asks every member for the booking made under that key.
* a contact's appointments: every member's, by start; here a failing member fails the call: a
  partial list would read as "cancelled" (a reminder that reads the calendar would be dropped).
* ids: the pool's event ids are the member's binding name, `:`, the member's id
  (`calendar.ana:mem1-ana`), so a cancel or a move finds its member.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import structlog

from botfleet.adapters.connectors.calendar import formatting
from botfleet.adapters.connectors.calendar.params import Params
from botfleet.adapters.connectors.calendar.pool_config import CalendarPoolSettings
from botfleet.adapters.connectors.calendar.texts import REASONS, Refusal, calendar_texts
from botfleet.domain.errors import ConnectorError, ConnectorUnavailable, UnknownOperation
from botfleet.flows.connector_categories import CATEGORY_OPERATIONS
from botfleet.ports.connectors import Connector, FindsCreated

CATEGORY = "calendar"
BOOK = "book_appointment"
#: Between the member's binding name and its own event id (binding names have no `:`).
SEPARATOR = ":"
#: The answers' field naming the member that holds the appointment.
MEMBER_FIELD = "member"
#: Refusals that mean "not with this member": the next one is tried.
_NEXT_MEMBER = frozenset({REASONS[Refusal.SLOT_TAKEN], REASONS[Refusal.SLOT_UNAVAILABLE]})
_OPERATIONS = CATEGORY_OPERATIONS[CATEGORY]

log = structlog.get_logger("botfleet.connectors.calendar")

Reply = dict[str, Any]


class MemberUnavailable(ConnectorUnavailable):
    """A member failed a call the pool cannot answer without it (a contact's appointments).

    An `unavailable` to the flow, but not retried by the pool's policy nor counted by its
    breaker: the pool itself answers, and its reads without that member still work. Counted,
    a contact's list asked twice while one barber's calendar was down opened the pool's
    breaker, and every "anyone" booking was refused for `reset_after_s` (a walk-through)."""

    retryable = False


def pool_event_id(member: str, event_id: str) -> str:
    """The pool's id of a member's event (`calendar.ana:mem1-ana`); "" stays ""."""
    return f"{member}{SEPARATOR}{event_id}" if event_id else ""


def _start(record: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["start"]))


class CalendarPool:
    """The calendar category over member calendars. Satisfies `Connector` and `FindsCreated`."""

    category = CATEGORY
    #: Retried by the resilience layer only with an idempotency key, as a calendar's.
    creating_operations = frozenset({BOOK})

    def __init__(
        self,
        settings: CalendarPoolSettings,
        *,
        binding: str,
        members: Mapping[str, Connector] | None = None,
    ) -> None:
        self.settings = settings
        self.binding = binding
        self.texts = calendar_texts(settings.language)
        self.members: dict[str, Connector] = dict(members or {})

    @property
    def answers_for(self) -> frozenset[str]:
        """The member bindings this pool answers for: its appointments are theirs (a
        contact's export lists them once, under each member)."""
        return frozenset(self.members)

    def attach(self, members: Mapping[str, Connector]) -> None:
        """Give the pool its members (the catalog builds them, then the pool), in the listed
        order."""
        self.members = {name: members[name] for name in self.settings.members}

    def operations(self) -> frozenset[str]:
        return _OPERATIONS

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        if operation not in _OPERATIONS:
            raise UnknownOperation(CATEGORY, operation, _OPERATIONS)
        request = Params(operation, params)
        if operation in ("get_available_days", "get_slots_for_day"):
            if request.text("event_id", default=""):  # moving one: its member's times only
                return await self._routed_read(operation, request, idempotency_key)
            return await self._offered(operation, request, idempotency_key)
        if operation in ("get_future_appointments", "list_appointments"):
            return await self._appointments(operation, request, idempotency_key)
        if operation == BOOK:
            return await self._book(params, idempotency_key)
        return await self._routed_write(operation, request, idempotency_key)

    async def find_created(
        self, operation: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> Reply | None:
        """The booking some member made under `idempotency_key`, else None; raises the first
        member's error when none has it and a member could not tell."""
        found, errors = await self._lookup(operation, params, idempotency_key)
        if found is None and errors:
            raise errors[0]
        return found

    # ------------------------------------------------------------------ helpers

    def _member_failed(self, member: str, operation: str, exc: ConnectorError) -> None:
        # Never params nor the error's text (it may quote them): the member and the kind.
        log.warning(
            "calendar_pool_member_failed",
            connector=self.binding,
            member=member,
            operation=operation,
            error_kind=exc.kind,
        )

    async def _each(
        self, run: Callable[[str, Connector], Awaitable[Any]]
    ) -> list[tuple[str, Any | ConnectorError]]:
        """(member, answer or its error) of every member, asked at once, in the listed order."""

        async def one(name: str, member: Connector) -> Any:
            try:
                return await run(name, member)
            except ConnectorError as exc:
                return exc

        answers = await asyncio.gather(*(one(n, m) for n, m in self.members.items()))
        return list(zip(self.members, answers, strict=True))

    def _split(self, request: Params) -> tuple[str, str] | None:
        """(member, its event id) of the pool's `event_id` param, else None."""
        member, _, inner = request.event_id().partition(SEPARATOR)
        return (member, inner) if member in self.members and inner else None

    def _tagged(self, member: str, reply: Any) -> Any:
        """A member's booking or move answer with the pool's ids and the `member` field."""
        if not isinstance(reply, dict):
            return reply
        tagged = dict(reply)
        if tagged.get("event_id"):
            tagged["event_id"] = pool_event_id(member, str(tagged["event_id"]))
        if isinstance(tagged.get("appointment"), dict):
            tagged["appointment"] = self._record(member, tagged["appointment"])
        if tagged.get("success"):
            tagged[MEMBER_FIELD] = member
        return tagged

    def _record(self, member: str, record: Mapping[str, Any]) -> dict[str, Any]:
        event_id = pool_event_id(member, str(record.get("event_id", "")))
        return {**record, "event_id": event_id, MEMBER_FIELD: member}

    # ------------------------------------------------------------------ reads

    async def _offered(self, operation: str, request: Params, key: str) -> list[dict[str, Any]]:
        async def ask(_name: str, member: Connector) -> Any:
            return await member.call(operation, request.raw, idempotency_key=key)

        merged: dict[str, dict[str, Any]] = {}
        errors: list[ConnectorError] = []
        for name, answer in await self._each(ask):
            if isinstance(answer, ConnectorError):
                self._member_failed(name, operation, answer)
                errors.append(answer)
                continue
            for item in answer:
                kept = merged.get(item["id"])
                if kept is None:
                    merged[item["id"]] = dict(item)
                elif "places_left" in item or "places_left" in kept:
                    # Places add up; a member of one place per slot offering it has one.
                    kept["places_left"] = kept.get("places_left", 1) + item.get("places_left", 1)
        if errors and len(errors) == len(self.members):
            raise errors[0]
        texts = request.texts(self.texts)
        for item in merged.values():
            if "places_left" in item:
                item["description"] = texts.places(item["places_left"])
        return [merged[item_id] for item_id in sorted(merged)]  # ids sort as dates and times

    async def _routed_read(self, operation: str, request: Params, key: str) -> Any:
        owner = self._split(request)
        if owner is None:  # as a member answers for an appointment that is not there
            return []
        member, inner = owner
        params = {**request.raw, "event_id": inner}
        return await self.members[member].call(operation, params, idempotency_key=key)

    async def _appointments(self, operation: str, request: Params, key: str) -> list[Any]:
        params = {k: v for k, v in request.raw.items() if k != "id_prefix"}

        async def ask(_name: str, member: Connector) -> Any:
            return await member.call("list_appointments", params, idempotency_key=key)

        records: list[tuple[datetime, int, dict[str, Any]]] = []
        for index, (name, answer) in enumerate(await self._each(ask)):
            if isinstance(answer, ConnectorError):
                self._member_failed(name, operation, answer)
                raise MemberUnavailable(
                    f"{name} did not answer ({answer.kind}): the contact's appointments "
                    "cannot be listed without it"
                ) from None
            records += [(_start(r), index, self._record(name, r)) for r in answer]
        records.sort(key=lambda found: (found[0], found[1]))
        if operation == "list_appointments":
            return [record for _, _, record in records]
        prefix = request.text("id_prefix", default=formatting.CANCEL_PREFIX)
        return [{"id": f"{prefix}{r['event_id']}", "title": r["title"]} for _, _, r in records]

    # ------------------------------------------------------------------ writes

    async def _lookup(
        self, operation: str, params: Mapping[str, Any], key: str
    ) -> tuple[Reply | None, list[ConnectorError]]:
        """The booking a member made under `key` (tagged), and the errors of the lookups."""
        errors: list[ConnectorError] = []
        if operation != BOOK or not key:
            return None, errors
        for name, member in self.members.items():
            if not isinstance(member, FindsCreated):
                continue
            try:
                found = await member.find_created(operation, params, idempotency_key=key)
            except ConnectorError as exc:
                self._member_failed(name, "find_created", exc)
                errors.append(exc)
                continue
            if found is not None:
                return self._tagged(name, found), errors
        return None, errors

    async def _book(self, params: Mapping[str, Any], key: str) -> Any:
        # A retry of the pool call: the member that booked under this key, whichever it was.
        earlier, _ = await self._lookup(BOOK, params, key)
        if earlier is not None:
            return earlier
        refusals: list[Reply] = []
        errors: list[ConnectorError] = []
        for name, member in self.members.items():
            try:
                answer = await member.call(BOOK, params, idempotency_key=key)
            except ConnectorError as exc:
                self._member_failed(name, BOOK, exc)
                errors.append(exc)
                continue
            if not isinstance(answer, dict) or answer.get("success"):
                return self._tagged(name, answer)
            if answer.get("reason") not in _NEXT_MEMBER:  # `already_booked`: the contact's own
                return answer
            refusals.append(answer)
        if not refusals:
            raise errors[0]
        taken = [r for r in refusals if r.get("reason") == REASONS[Refusal.SLOT_TAKEN]]
        return (taken or refusals)[0]

    async def _routed_write(self, operation: str, request: Params, key: str) -> Any:
        owner = self._split(request)
        if owner is None:  # not one of the pool's ids: answered like a missing appointment
            texts = request.texts(self.texts)
            refused: Reply = {
                "success": False,
                "reason": REASONS[Refusal.NOT_FOUND],
                "message": texts.refusal(Refusal.NOT_FOUND),
            }
            return {**refused, "event_id": ""} if operation == "reschedule_appointment" else refused
        member, inner = owner
        params = {**request.raw, "event_id": inner}
        answer = await self.members[member].call(operation, params, idempotency_key=key)
        return self._tagged(member, answer)


def build(settings: Mapping[str, Any], *, binding: str) -> CalendarPool:
    """A pool without its members yet (`CalendarPool.attach`); raises pydantic's
    `ValidationError` on bad settings."""
    return CalendarPool(CalendarPoolSettings.model_validate(dict(settings)), binding=binding)
