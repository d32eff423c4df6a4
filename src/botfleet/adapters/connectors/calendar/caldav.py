"""`caldav`: the calendar category on any CalDAV server (Nextcloud, iCloud, Fastmail, Radicale).

Uses the `caldav` package's blocking client, one client per request in a worker thread
(`asyncio.to_thread`), so requests never share a session across threads. The calendar is
found once and its URL remembered (`caldav_locator.py`); when that URL answers 404/410 (the
calendar was moved or recreated) the calendar is found again, once, and the request repeated on
the new URL. Reads are time-range searches with recurrences expanded; the re-check right before
a booking is a fresh search of the slot's range; an invitation declined under one of the
calendar's own addresses holds no time (`caldav_owner.py`). Bookings are VEVENTs in UTC whose
UID comes from the request's idempotency key and which carry ``X-BOTFLEET-*`` properties
(`events.py`); the UID is looked up before a create and the PUT refuses to overwrite, so a
retried booking never makes a second event. A move or a cancel acts only on the version of the
event the contact was shown (`shown_versions.py`; tags: `caldav_versions.py`): when the event
read right before the write has another tag (staff moved or edited it since), nothing is
written and it is `EventChanged`; otherwise the write names the version it read (If-Match), so
an edit in between is a 412, `EventChanged` too. A 404/410 on the event is `EventGone`. Errors
become `ConnectorError`s in `caldav_errors.py`.

A cancel deletes the resource, and the server keeps nothing of it: the bookings this store
deleted are remembered in process memory (`cancelled.py`), so a repeated cancel is "already
cancelled"; after a restart it is `not_found`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar.caldav_errors import (
    GONE,
    http_status,
    refused_as_stale,
    translate,
)
from botfleet.adapters.connectors.calendar.caldav_locator import CalendarLocator
from botfleet.adapters.connectors.calendar.caldav_owner import OwnAddresses
from botfleet.adapters.connectors.calendar.caldav_versions import (
    changed_since,
    has_version,
    version_tag,
)
from botfleet.adapters.connectors.calendar.cancelled import CancelledBookings
from botfleet.adapters.connectors.calendar.config import (
    BINDING_CONTEXT,
    CalDavSettings,
    with_tenant_timezone,
)
from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.adapters.connectors.calendar.shown_versions import ShownVersions
from botfleet.adapters.connectors.calendar.store import EventChanged, EventGone
from botfleet.adapters.connectors.calendar.texts import calendar_texts
from botfleet.domain.calendar import Appointment, BusyEvent, CalendarEvent
from botfleet.ports.clock import Clock

__all__ = ["CalDavStore", "build", "no_redirects", "translate"]

T = TypeVar("T")


def no_redirects(session: Any) -> None:
    """Make `session` (the client's niquests/requests session) never follow a redirect.

    A 3xx would send the request again, credentials included, to wherever it points (an
    internal address, another host); it comes back as the answer instead, which the client
    reports as an error (`unavailable`). The client passes no `allow_redirects` of its own.
    """
    session.request = functools.partial(session.request, allow_redirects=False)


def _vevents(found: Any) -> Iterator[Any]:
    for item in found:
        yield from item.icalendar_instance.walk("VEVENT")


class CalDavStore:
    """Events of one CalDAV calendar. Satisfies `CalendarStore`."""

    def __init__(
        self,
        settings: CalDavSettings,
        *,
        client: Callable[[], Any] | None,
        binding: str = "calendar",
    ) -> None:
        self.settings = settings
        self.binding = binding
        self._tz = settings.tz
        self._texts = calendar_texts(settings.language)  # of the events staff read
        self._client_factory = client or self._new_client
        self._locator = CalendarLocator(settings, binding=binding)
        self._own = OwnAddresses(settings.owner_emails, binding=binding)
        # UID -> version tag the contact was shown (a listing, a booking's or a move's answer),
        # else of its last read.
        self._shown = ShownVersions()
        self._cancelled = CancelledBookings()  # what `delete` removed, in this process

    # ------------------------------------------------------------------ plumbing

    def _new_client(self) -> Any:
        from caldav.davclient import DAVClient

        password = self.settings.password
        client = DAVClient(
            url=self.settings.url,
            username=self.settings.username,
            password=password.get_secret_value() if password is not None else None,
            auth_type=self.settings.auth_type if self.settings.username else None,
            timeout=self.settings.request_timeout_s,  # type: ignore[arg-type]
            rate_limit_handle=False,  # a 429 is the resilience layer's to retry, not a sleep
        )
        no_redirects(client.session)
        return client

    async def _run(self, what: str, work: Callable[[Any], T]) -> T:
        def blocking() -> T:
            with self._client_factory() as client:
                url, remembered = self._locator.known_url(client)
                try:
                    return work(client.calendar(url=url))
                except Exception as exc:
                    if http_status(exc) not in GONE:
                        raise
                # The calendar's own URL is dead. A `calendar_id` is the URL itself, and one
                # found just now is as fresh as it gets: only a remembered one is looked up again.
                fresh = None
                if remembered and not self.settings.calendar_id:
                    fresh = self._locator.rediscover(client, url)
                if fresh is None:
                    raise self._locator.calendar_missing(what)
                try:
                    return work(client.calendar(url=fresh))
                except Exception as exc:
                    if http_status(exc) in GONE:
                        raise self._locator.calendar_missing(what) from None
                    raise

        try:
            return await asyncio.to_thread(blocking)
        except Exception as exc:
            raise translate(exc, what) from None

    def _search(self, calendar: Any, start: datetime, end: datetime) -> list[Any]:
        found = calendar.search(start=start, end=end, event=True, expand=True)
        return list(_vevents(found))

    def _by_uid(self, calendar: Any, uid: str) -> Any | None:
        from caldav.lib import error

        try:
            return calendar.get_event_by_uid(uid)
        except error.NotFoundError as exc:
            if http_status(exc) is not None:
                raise  # the search itself answered 404: the calendar's URL, not the event
            return None

    def _appointment_of(self, resource: Any | None) -> Appointment | None:
        if resource is None:
            return None
        return wire.ical_appointment(resource.icalendar_component, self._tz)

    # ------------------------------------------------------------------ the store port

    async def events_between(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        def found(calendar: Any) -> tuple[list[Any], frozenset[str]]:
            components = self._search(calendar, start, end)
            # The calendar's own addresses matter only to an invitation someone declined.
            declines = any(wire.ical_has_declines(c) for c in components)
            return components, self._own.of(calendar.client) if declines else frozenset()

        components, own = await self._run("search", found)
        parsed = (wire.ical_event(c, self._tz, own=own) for c in components)
        return [e for e in parsed if e is not None]

    async def appointments_from(
        self, contact_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        def listed(calendar: Any) -> list[tuple[Any, str | None]]:
            # Not expanded: bookings never recur, a year of staff's recurring events expanded
            # would only be parsed and dropped, and expanded resources lose their tags.
            found = calendar.search(start=start, end=end, event=True, expand=False)
            return [(c, version_tag(item)) for item in found for c in _vevents([item])]

        found = []
        for component, version in await self._run("search", listed):
            appointment = wire.ical_appointment(component, self._tz)
            if appointment is not None and appointment.contact_id == contact_id:
                self._shown.remember(appointment.event_id, version)
                found.append(appointment)
        return found

    async def appointment(self, event_id: str) -> Appointment | None:
        found, version = await self._run("get", lambda cal: self._read(cal, event_id))
        if found is None:
            self._shown.forget(event_id)
            return None
        self._cancelled.forget(event_id)  # there again (staff restored it): not cancelled
        if event_id not in self._shown:
            # Only when the contact was shown no version: the one shown is what they decide on.
            self._shown.remember(event_id, version)
        return found

    def _read(self, calendar: Any, uid: str) -> tuple[Appointment | None, str | None]:
        resource = self._by_uid(calendar, uid)
        return self._appointment_of(resource), None if resource is None else version_tag(resource)

    async def cancelled(self, event_id: str) -> Appointment | None:
        return self._cancelled.get(event_id)

    async def booking_for_key(self, idempotency_key: str) -> Appointment | None:
        return await self.appointment(wire.event_id_for_key(idempotency_key))

    async def busy_between(
        self, start: datetime, end: datetime, *, ignore: str | None = None
    ) -> list[BusyEvent]:
        events = await self.events_between(start, end)
        return [e for e in events if isinstance(e, BusyEvent) and e.event_id != ignore]

    async def create(self, appointment: Appointment, idempotency_key: str) -> Appointment:
        from caldav.lib import error

        uid = wire.event_id_for_key(idempotency_key) if idempotency_key else wire.new_event_id()
        text = wire.ical_text(
            appointment,
            uid=uid,
            idempotency_key=idempotency_key,
            now=datetime.now(self._tz),
            texts=self._texts,
        )

        def put(calendar: Any) -> tuple[Appointment, str | None]:
            try:
                calendar.add_event(text, no_overwrite=True)
            except error.DAVError:
                # Refused because this request's event exists already: that is the booking.
                existing, version = self._read(calendar, uid)
                if existing is None:
                    raise
                return existing, version
            made, version = self._read(calendar, uid)
            return made or replace(appointment, event_id=uid), version

        made, version = await self._run("put", put)
        self._shown.remember(made.event_id, version)  # the booking's answer shows it to the contact
        return made

    async def delete(self, event_id: str) -> bool:
        shown = self._shown.take(event_id)  # used once, as a write's If-Match is

        def remove(calendar: Any) -> tuple[bool, Appointment | None]:
            """Whether it was deleted (False: already gone), and the booking it was."""
            resource = self._by_uid(calendar, event_id)
            if resource is None:
                return False, None
            if changed_since(resource, shown):
                raise EventChanged("the appointment changed after the contact was shown it")
            try:
                # Only the version just read: an unconditional DELETE would remove whatever
                # staff made of the event meanwhile (moved elsewhere, given to someone else).
                resource.delete(if_match=has_version(resource))
            except Exception as exc:
                if refused_as_stale(exc):
                    raise EventChanged(
                        "the appointment changed while it was being cancelled"
                    ) from None
                if http_status(exc) in GONE:
                    return False, None
                raise
            return True, self._appointment_of(resource)

        deleted, booking = await self._run("delete", remove)
        if booking is not None:  # (remembered here, on the event loop: not thread-safe)
            self._cancelled.remember(booking)
        return deleted

    async def move(self, appointment: Appointment, start: datetime, end: datetime) -> Appointment:
        shown = self._shown.take(appointment.event_id)

        def patch(calendar: Any) -> tuple[Appointment, str | None]:
            resource = self._by_uid(calendar, appointment.event_id)
            if resource is None:
                raise EventGone("the appointment disappeared while it was being moved")
            if changed_since(resource, shown):
                raise EventChanged("the appointment changed after the contact was shown it")
            component = resource.icalendar_component
            for name, value in (("dtstart", start), ("dtend", end)):
                component.pop(name, None)
                component.add(name, value.astimezone(UTC))
            component.pop("duration", None)
            try:
                resource.save()  # If-Match with the ETag read above (the client sends it)
            except Exception as exc:
                if refused_as_stale(exc):
                    raise EventChanged("the appointment changed while it was being moved") from None
                if http_status(exc) in GONE:
                    raise EventGone(
                        "the appointment disappeared while it was being moved"
                    ) from None
                raise
            return self._appointment_of(resource) or appointment, version_tag(resource)

        moved, version = await self._run("put", patch)
        self._shown.remember(appointment.event_id, version)  # the answer tells the new times
        return moved


def build(
    settings: Mapping[str, Any],
    *,
    timezone: str,
    clock: Clock,
    client: Callable[[], Any] | None = None,
    binding: str = "calendar",
) -> CalendarService:
    """The `caldav` connector from raw tenant settings (no network until the first call).

    Args:
        settings: the raw `connectors.calendar` mapping.
        timezone: the tenant's time zone (used when the settings give none).
        clock: the runtime's clock.
        client: makes a `caldav.DAVClient`-like object per request (a test seam).
        binding: the binding's name (`calendar`, `calendar.chair_2`): its credential scope
            in messages, its name in log lines.

    Raises:
        pydantic.ValidationError: the settings are invalid (the caller reports a config error).
    """
    parsed = CalDavSettings.model_validate(
        {"type": "caldav", **with_tenant_timezone(settings, timezone)},
        context={BINDING_CONTEXT: binding},
    )
    store = CalDavStore(parsed, client=client, binding=binding)
    return CalendarService(parsed, store, clock=clock)
