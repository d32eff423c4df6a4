"""The calendar category's operations, shared by every back end (memory, Google, CalDAV).

`CalendarService` implements the `Connector` port on top of a `CalendarStore`: it reads params,
applies the slot rules (`slots.py`), checks ownership and formats items. Writes are serialised
by one lock per connector instance and, right before a booking is written, the store re-checks
free/busy, so two contacts racing for a slot get exactly one booking (other writers, such as
staff in their calendar app, can still slip in between that re-check and the write).

Idempotency: a write's successful reply is remembered by idempotency key, and a booking also
asks the store for an event an earlier attempt made (`booking_for_key`), so a retry, even after
a restart, never books twice. A write keeps running when its caller gives up (a timeout), still
holding the lock: the retry waits for it and gets the first reply. (With `inline_writes`, the
in-memory calendar's, a write that never suspends simply finishes before its caller returns.)
When every attempt of a booking failed (timeouts), the resilience layer asks `find_created`
once: the same lookup by key, after any write still running, so a booking the back end made
after its caller stopped waiting is reported as made (`botfleet.ports.connectors.FindsCreated`).
A cancel of an event that is no longer there asks the store whether it knows it as a cancelled
booking (`cancelled`): the contact's own is a success ("already cancelled"), so a turn run again
after its answer was lost (the remembered replies went with the process) still says cancelled.

Durations: `service_duration_min` / `duration_min` (how long the calendar is blocked) default to
`default_service_duration_min`, else `slot_duration_min`; `presence_min` defaults to the service
duration. With `event_id` (and `contact_id`), `get_available_days` and `get_slots_for_day`
answer for moving that appointment: its length is the default and its own time counts as free.
Both take the same `period` (`Params.period`), so a day offered for dinner has a dinner slot.

A contact's appointments are looked up from now to `APPOINTMENTS_AHEAD_DAYS` ahead (or the
booking horizon, if longer) on every back end: staff may book a contact further ahead than the
bot offers, and the horizon may have been shortened since a booking was made.

Places (`capacity` above 1, a class): a booking made through the bot takes one place of its
slot and any other timed event blocks it whole (`slots.py`); a slot stays offered while a place
is left, and slot items carry `places_left`. A contact who already holds a place that overlaps
the slot is refused `already_booked`. Right after a booking is written the slot is read again:
when it holds more bookings than places (another writer on the same calendar, such as a second
binding, got in between) the booking just written is deleted and the answer is `slot_taken`, so
two bookings of the last place never both stand (both may lose, never both win).

Someone else's edit in the middle of a write (the store raises `EventGone` / `EventChanged`)
is an answer for the user (`NOT_FOUND` / `CHANGED`, reasons `not_found` / `changed`), not a
failure of the back end. Flows tell them apart: a `not_found` appointment is gone, a `changed`
one is still in the calendar as someone else left it.

Language: the `message`s of answers and the titles of items (days, appointments) are in the
calendar's `language` setting (the tenant's `language` unless the binding gives one; `texts.py`),
or in the call's `language` param when the calendar writes it (`Params.texts`: a bilingual flow
passes its contact's); ids, `reason`s and the other fields are the same in every language.
With the flow's `services` table in the call, the service's part of what a contact is shown of
an appointment (titles, `service_name`, messages) is its name in the call's language when the
appointment is tied to one of the table's services (`service_names.py`); what the store holds,
and writes on a move, stays as booked: the staff's calendar keeps their language.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from botfleet.adapters.connectors.calendar import formatting, slots
from botfleet.adapters.connectors.calendar.config import CalendarSettings
from botfleet.adapters.connectors.calendar.params import Params
from botfleet.adapters.connectors.calendar.store import CalendarStore, EventChanged, EventGone
from botfleet.adapters.connectors.calendar.texts import (
    ENGLISH,
    REASONS,
    CalendarTexts,
    Refusal,
    calendar_texts,
)
from botfleet.adapters.connectors.stepping import resumed, run_until_suspended
from botfleet.domain.calendar import Appointment, BusyEvent, CalendarEvent, epoch_micros
from botfleet.domain.errors import UnknownOperation
from botfleet.domain.instants import elapsed_after
from botfleet.ports.clock import Clock

CATEGORY = "calendar"
#: The refusals' English `message`s (each `reason` is in `texts.REASONS`).
SLOT_TAKEN = ENGLISH.refusal(Refusal.SLOT_TAKEN)
SLOT_UNAVAILABLE = ENGLISH.refusal(Refusal.SLOT_UNAVAILABLE)
NOT_FOUND = ENGLISH.refusal(Refusal.NOT_FOUND)
CHANGED = ENGLISH.refusal(Refusal.CHANGED)
ALREADY_BOOKED = ENGLISH.refusal(Refusal.ALREADY_BOOKED)
#: How far ahead a contact's appointments are looked for (at least; the booking horizon if
#: longer): bounded, so a CalDAV search stays one bounded time range, and the same on every back
#: end, so "my appointments" lists the same bookings whichever calendar a tenant uses.
APPOINTMENTS_AHEAD_DAYS = 366
#: Successful write replies remembered per connector (older ones are forgotten first).
REMEMBERED_REPLIES = 4096

Reply = dict[str, Any]
Handler = Callable[[Params, str], Awaitable[Any]]


def _refused(event_id: str, refusal: Refusal, texts: CalendarTexts) -> Reply:
    message = texts.refusal(refusal)
    return {"success": False, "event_id": event_id, "reason": REASONS[refusal], "message": message}


def _not_cancelled(refusal: Refusal, texts: CalendarTexts) -> Reply:
    return {"success": False, "reason": REASONS[refusal], "message": texts.refusal(refusal)}


def _naming(request: Params, texts: CalendarTexts) -> Callable[[Appointment], Appointment]:
    """How this call shows an appointment to its contact: the service named in the call's
    `language` (as given, `nl` too, then the language of the call's titles) when the
    `services` param ties the appointment to one of its services (`service_names.py`); as
    stored otherwise. Raises `ConnectorRejected` for a malformed `services`."""
    table = request.services()
    asked = request.raw.get("language")
    languages = ([asked] if isinstance(asked, str) else []) + [texts.language]
    return lambda appointment: table.shown(appointment, languages)


def _ends(start: datetime, service_min: int) -> datetime:
    """The end of a service starting at `start`: elapsed minutes, as the slot rules count them
    (`start + timedelta` on a zone's time is wall-clock: 90 minutes from 01:30 on the night the
    clocks go forward would end at 03:00, half an hour later)."""
    return elapsed_after(start, timedelta(minutes=service_min))


def _retrieve(task: asyncio.Future[Any]) -> None:
    # The caller may be gone (timeout): fetch the outcome so asyncio does not warn about it.
    if not task.cancelled():
        task.exception()


async def _finish(write: Coroutine[Any, Any, Reply], signal: Any) -> Reply:
    return await resumed(write, signal)  # type: ignore[no-any-return]


@lru_cache(maxsize=256)
def _query_range(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The range of events the slot rules need for the days `first` to `last`: a day around
    each day (DST margins) and a service length past it. A pure function of its arguments."""
    low = datetime.combine(first, time(), tz) - timedelta(days=1)
    high = datetime.combine(last, time(), tz) + timedelta(days=3)
    return low, high


class CalendarService:
    """The calendar category over one store. Satisfies `botfleet.ports.connectors.Connector`
    and `FindsCreated`."""

    category = CATEGORY
    #: Retried by the resilience layer only with an idempotency key.
    creating_operations = frozenset({"book_appointment"})
    #: Whether a write starts in the caller's task and runs there up to its first suspension,
    #: the rest (if any) in a task of its own as usual: for stores whose writes usually never
    #: suspend (in memory), never for network ones, whose HTTP clients bind timeouts and
    #: cancel scopes to the task that entered them.
    inline_writes = False

    def __init__(self, settings: CalendarSettings, store: CalendarStore, *, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.texts = calendar_texts(settings.language)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._replies: OrderedDict[tuple[str, str], Reply] = OrderedDict()
        self._reads: dict[str, Handler] = {
            "get_available_days": self._get_available_days,
            "get_slots_for_day": self._get_slots_for_day,
            "get_future_appointments": self._get_future_appointments,
            "list_appointments": self._list_appointments,
        }
        self._writes: dict[str, Handler] = {
            "book_appointment": self._book_appointment,
            "cancel_event": self._cancel,
            "cancel_appointment": self._cancel,
            "reschedule_appointment": self._reschedule_appointment,
        }
        self._operations = frozenset(self._reads) | frozenset(self._writes)

    def operations(self) -> frozenset[str]:
        return self._operations

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        """Run one operation; bad params raise `ConnectorRejected` naming the param."""
        request = Params(operation, params)
        if operation in self._reads:
            return await self._reads[operation](request, idempotency_key)
        if operation not in self._writes:
            raise UnknownOperation(CATEGORY, operation, self._operations)
        write: Coroutine[Any, Any, Reply] = self._write(operation, request, idempotency_key)
        if self.inline_writes:
            finished, value = run_until_suspended(write)
            if finished:  # no suspension: the caller cannot have given up in between
                return value
            write = _finish(write, value)
        task = asyncio.ensure_future(write)
        task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

    async def find_created(
        self, operation: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> Reply | None:
        """The answer of the booking made under `idempotency_key`, if it exists, else None.

        Under the write lock: a write still running (its caller timed out) finishes first, and
        its reply, or the event it made, is what is found."""
        if operation != "book_appointment" or not idempotency_key:
            return None
        request = Params(operation, params)
        async with self._lock:
            remembered = self._replies.get((operation, idempotency_key))
            if remembered is not None:
                return dict(remembered)
            return await self._earlier_booking(request, idempotency_key)

    async def _write(self, operation: str, request: Params, key: str) -> Reply:
        async with self._lock:
            memo = (operation, key)
            if key and memo in self._replies:
                return dict(self._replies[memo])
            reply: Reply = await self._writes[operation](request, key)
            if key and reply.get("success"):
                self._replies[memo] = dict(reply)
                while len(self._replies) > REMEMBERED_REPLIES:
                    self._replies.popitem(last=False)
            return reply

    # ------------------------------------------------------------------ reads

    def now(self) -> datetime:
        return self._clock.now().astimezone(self.settings.tz)

    async def _events(self, first: date, last: date, ignore: str | None) -> list[CalendarEvent]:
        low, high = _query_range(first, last, self.settings.tz)
        events = await self.store.events_between(low, high)
        return events if ignore is None else [e for e in events if e.event_id != ignore]

    async def _durations(
        self, request: Params, service_param: str
    ) -> tuple[int, int, str | None] | None:
        """(service, presence, event to ignore); None when the appointment to move is gone."""
        default, ignore = self.settings.fallback_duration_min, None
        if request.text("event_id", default=""):
            appointment = await self._owned(request)
            if appointment is None:
                return None
            default, ignore = appointment.minutes, appointment.event_id
        service = request.minutes(service_param, default)
        return service, request.minutes("presence_min", service), ignore

    async def _get_available_days(self, request: Params, _key: str) -> list[formatting.Item]:
        now = self.now()
        from_date = request.day("from_date", default=now.date())
        lookahead = request.positive_int(
            "lookahead_days", self.settings.lookahead_days_client, upper=3660
        )
        period = request.period()
        durations = await self._durations(request, "service_duration_min")
        first = max(from_date, now.date())
        last = min(from_date + timedelta(days=lookahead - 1), slots.horizon_end(self.settings, now))
        if durations is None or first > last:
            return []
        service, presence, ignore = durations
        events = await self._events(first, last, ignore)
        days = slots.available_days(
            from_date, self.settings, events, now, lookahead, service, presence, period=period
        )
        return formatting.day_items(days, request.texts(self.texts))

    async def _get_slots_for_day(self, request: Params, _key: str) -> list[dict[str, Any]]:
        day = request.day("date_str")
        period = request.period()
        durations = await self._durations(request, "service_duration_min")
        now = self.now()
        if durations is None or day < now.date() or day > slots.horizon_end(self.settings, now):
            return []
        service, presence, ignore = durations
        events = await self._events(day, day, ignore)
        if self.settings.capacity > 1:
            places = slots.slot_places(day, self.settings, events, now, service, presence)
            if period is not None:
                places = [p for p in places if slots.in_period(p[0], period)]
            return formatting.slot_items_with_places(places, request.texts(self.texts))
        offered = slots.slots_for_day(day, self.settings, events, now, service, presence)
        if period is not None:
            offered = [s for s in offered if slots.in_period(s, period)]
        return formatting.slot_items(offered)

    async def _future_of(self, request: Params, texts: CalendarTexts) -> list[Appointment]:
        """The contact's coming appointments, first first, named for the contact
        (`_naming`)."""
        contact_id = request.text("contact_id")
        named = _naming(request, texts)
        now = self.now()
        ahead = timedelta(days=max(APPOINTMENTS_AHEAD_DAYS, self.settings.horizon_days + 1))
        found = await self.store.appointments_from(contact_id, now, now + ahead)
        # (instants: `Appointment.starts_before`, `now`'s converted once)
        dated = [(epoch_micros(a.start), a) for a in found if a.contact_id == contact_id]
        low = epoch_micros(now)
        own = [pair for pair in dated if pair[0] >= low]
        own.sort(key=itemgetter(0))  # stable, as sorting by start was
        return [named(a) for _, a in own]

    async def _get_future_appointments(self, request: Params, _key: str) -> list[formatting.Item]:
        texts = request.texts(self.texts)
        own = await self._future_of(request, texts)
        prefix = request.text("id_prefix", default=formatting.CANCEL_PREFIX)
        return formatting.appointment_items(own, self.settings.tz, prefix=prefix, texts=texts)

    async def _list_appointments(self, request: Params, _key: str) -> list[dict[str, Any]]:
        texts = request.texts(self.texts)
        own = await self._future_of(request, texts)
        return [formatting.appointment_record(a, self.settings.tz, texts) for a in own]

    # ------------------------------------------------------------------ writes (under the lock)

    async def _refusal(
        self,
        wall: datetime,
        service: int,
        presence: int,
        *,
        contact_id: str,
        ignore: str | None = None,
    ) -> tuple[datetime | None, Refusal | None]:
        """The aware start of `wall` and, if `contact_id` cannot book it now, why not."""
        day = wall.date()
        minute = wall.hour * 60 + wall.minute
        start = slots.local_instant(day, minute, self.settings.tz)
        if start is None:
            return None, Refusal.SLOT_UNAVAILABLE
        now = self.now()
        events = await self._events(day, day, ignore)
        # Whether `slots_for_day` offers it (with every event, and with the all-day ones only),
        # computed for this start alone.
        open_hours, offered = slots.start_offered(
            day, minute, self.settings, events, now, service, presence
        )
        end = _ends(start, service)
        if not offered:
            if open_hours and self._holds_place(events, start, end, contact_id):
                return start, Refusal.ALREADY_BOOKED
            # Open hours allow it: something else holds the time.
            return start, Refusal.SLOT_TAKEN if open_hours else Refusal.SLOT_UNAVAILABLE
        # The free/busy re-check right before the write (the store's freshest answer).
        busy = await self.store.busy_between(start, end, ignore=ignore)
        return start, self._held(busy, start, end, contact_id)

    def _held(
        self, busy: list[BusyEvent], start: datetime, end: datetime, contact_id: str | None
    ) -> Refusal | None:
        """Why the timed events `busy` leave no room for a booking of ``[start, end)`` (by
        `contact_id`; None: whoever holds a place), or None. On instants: in the repeated
        hour, min/max of one zone's times would go by the wall clock."""
        low, high = epoch_micros(start), epoch_micros(end)
        overlapping = [
            b
            for b in busy
            if min(b.span[1], high) - max(b.span[0], low) > slots.OVERLAP_TOLERANCE_US
        ]
        capacity = self.settings.capacity
        if capacity == 1:
            return Refusal.SLOT_TAKEN if overlapping else None
        whole, booked = slots.split_places(overlapping)
        if contact_id is not None and any(b.contact_id == contact_id for b in booked):
            return Refusal.ALREADY_BOOKED
        if whole or slots.places_taken([b.span for b in booked], low, high) >= capacity:
            return Refusal.SLOT_TAKEN
        return None

    def _holds_place(
        self, events: list[CalendarEvent], start: datetime, end: datetime, contact_id: str
    ) -> bool:
        """Whether, on a calendar of places, `contact_id` holds one overlapping the slot."""
        if self.settings.capacity == 1:
            return False
        busy = [e for e in events if isinstance(e, BusyEvent)]
        return self._held(busy, start, end, contact_id) is Refusal.ALREADY_BOOKED

    async def _over_capacity(self, made: Appointment) -> bool:
        """Whether the slot of the booking just written holds more than its places (another
        writer on the calendar booked it meanwhile): read again, as the re-check was."""
        busy = await self.store.busy_between(made.start, made.end, ignore=made.event_id)
        return self._held(busy, made.start, made.end, None) is not None

    def _booked(
        self,
        appointment: Appointment,
        texts: CalendarTexts,
        message: str,
        named: Callable[[Appointment], Appointment],
    ) -> Reply:
        """A successful booking's or move's answer; `message` is `texts.booked` or `.moved`,
        the appointment as `named` shows it (`_naming`)."""
        appointment = named(appointment)
        record = formatting.appointment_record(appointment, self.settings.tz, texts)
        return {
            "success": True,
            "event_id": appointment.event_id,
            "message": message.format(title=record["title"]),  # `appointment_title`
            "appointment": record,
        }

    async def _book_appointment(self, request: Params, key: str) -> Reply:
        wall = request.slot("slot")
        contact_id = request.text("contact_id")
        # `duration_min` is the seed's name here; `service_duration_min` is accepted too.
        service = request.minutes(
            "duration_min",
            request.minutes("service_duration_min", self.settings.fallback_duration_min),
        )
        presence = request.minutes("presence_min", service)
        texts = request.texts(self.texts)
        named = _naming(request, texts)  # a bad `services` param refuses before any write
        earlier = await self._earlier_booking(request, key) if key else None
        if earlier is not None:
            return earlier
        start, refusal = await self._refusal(wall, service, presence, contact_id=contact_id)
        if start is None or refusal is not None:
            return _refused("", refusal or Refusal.SLOT_UNAVAILABLE, texts)
        draft = Appointment(
            event_id="",
            contact_id=contact_id,
            start=start,
            end=_ends(start, service),
            service_key=request.text("service_key", default=""),
            contact_name=request.text("contact_name", default=""),
            service_name=request.text("service_name", default=""),
        )
        made = await self.store.create(draft, key)
        if self.settings.capacity > 1 and await self._over_capacity(made):
            # Only this booking goes: the others were there first, or will go themselves.
            await self.store.delete(made.event_id)
            return _refused("", Refusal.SLOT_TAKEN, texts)
        return self._booked(made, texts, texts.booked, named)

    async def _earlier_booking(self, request: Params, key: str) -> Reply | None:
        """The answer of the booking an earlier attempt under `key` made, if it exists."""
        earlier = await self.store.booking_for_key(key)
        if earlier is None:
            return None
        texts = request.texts(self.texts)
        return self._booked(earlier, texts, texts.booked, _naming(request, texts))

    async def _owned(self, request: Params) -> Appointment | None:
        """The contact's own upcoming appointment named by `event_id`, else None."""
        return self._own_upcoming(await self.store.appointment(request.event_id()), request)

    def _own_upcoming(self, appointment: Appointment | None, request: Params) -> Appointment | None:
        """`appointment` if it is the contact's and has not begun, else None."""
        # Someone else's appointment answers like a missing one: ids must not leak bookings.
        if appointment is None or appointment.contact_id != request.text("contact_id"):
            return None
        # One that has begun is the business's record of a visit, no longer the contact's to
        # cancel or move (an old button pressed late), as `get_future_appointments` says.
        if appointment.starts_before(self.now()):
            return None
        return appointment

    async def _cancel(self, request: Params, _key: str) -> Reply:
        texts = request.texts(self.texts)
        named = _naming(request, texts)
        event_id = request.event_id()
        found = await self.store.appointment(event_id)
        if found is None:
            return await self._cancelled_before(event_id, request, texts)
        appointment = self._own_upcoming(found, request)
        if appointment is None:
            return _not_cancelled(Refusal.NOT_FOUND, texts)
        try:
            deleted = await self.store.delete(appointment.event_id)
        except EventChanged:
            return _not_cancelled(Refusal.CHANGED, texts)
        if not deleted:
            return _not_cancelled(Refusal.NOT_FOUND, texts)
        title = formatting.appointment_title(named(appointment), self.settings.tz, texts)
        return {"success": True, "message": texts.cancelled.format(title=title)}

    async def _cancelled_before(
        self, event_id: str, request: Params, texts: CalendarTexts
    ) -> Reply:
        """The answer to a cancel of an event that is not there: a success when the store knows
        it as the contact's cancelled booking (a repeated cancel: the contact's wish holds, and
        a flow must not tell them it never existed), else `not_found`."""
        earlier = await self.store.cancelled(event_id)
        if earlier is None or earlier.contact_id != request.text("contact_id"):
            return _not_cancelled(Refusal.NOT_FOUND, texts)
        shown = _naming(request, texts)(earlier)
        title = formatting.appointment_title(shown, self.settings.tz, texts)
        return {"success": True, "message": texts.already_cancelled.format(title=title)}

    async def _reschedule_appointment(self, request: Params, _key: str) -> Reply:
        wall = request.slot("slot")
        texts = request.texts(self.texts)
        named = _naming(request, texts)
        appointment = await self._owned(request)
        if appointment is None:
            return _refused("", Refusal.NOT_FOUND, texts)
        service = request.minutes("duration_min", appointment.minutes)
        presence = request.minutes("presence_min", service)
        start, refusal = await self._refusal(
            wall, service, presence, contact_id=appointment.contact_id, ignore=appointment.event_id
        )
        if start is None or refusal is not None:
            return _refused(appointment.event_id, refusal or Refusal.SLOT_UNAVAILABLE, texts)
        # Instants: 02:30 summer time equals 02:30 winter time for Python (same zone, same wall).
        unchanged = epoch_micros(start) == epoch_micros(appointment.start)
        if unchanged and service == appointment.minutes:
            return self._booked(appointment, texts, texts.moved, named)  # nothing to change
        try:
            moved = await self.store.move(appointment, start, _ends(start, service))
        except EventGone:
            return _refused("", Refusal.NOT_FOUND, texts)
        except EventChanged:
            # `event_id` left empty like a missing one: the flow must not offer other times
            # for an appointment whose current state the contact has not seen.
            return _refused("", Refusal.CHANGED, texts)
        kept_id = replace(moved, event_id=appointment.event_id)
        return self._booked(kept_id, texts, texts.moved, named)
