"""`caldav`: the calendar category on any CalDAV server (Nextcloud, iCloud, Fastmail, Radicale).

Uses the `caldav` package's blocking client, one client per request in a worker thread
(`asyncio.to_thread`), so requests never share a session across threads. The calendar is
found once (`calendar_id` URL, else the `calendar_name`, else the account's first calendar)
and its URL remembered; when that URL answers 404/410 (the calendar was moved or recreated)
the calendar is found again, once, and the request repeated on the new URL. Reads are
time-range searches with recurrences expanded; the re-check right before a booking is a fresh
search of the slot's range. Bookings are VEVENTs in UTC whose UID comes from the request's
idempotency key and which carry ``X-BOTFLEET-*`` properties (`events.py`); the UID is looked
up before a create and the PUT refuses to overwrite, so a retried booking never makes a second
event. A move or a cancel acts only on the version of the event the contact was shown (listed
among their appointments, or answered for a booking or a move): when the event read right
before the write has another tag (staff moved or edited it since), nothing is written and it is
`EventChanged`; otherwise the write names the version it read (If-Match), so an edit in between
is a 412, `EventChanged` too. A 404/410 on the event is `EventGone`. The tags shown live in
this process only: after a restart, the write's own read is the version named.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urljoin

import structlog

from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar.config import (
    BINDING_CONTEXT,
    CalDavSettings,
    with_tenant_timezone,
)
from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.adapters.connectors.calendar.store import CalendarNotFound, EventChanged, EventGone
from botfleet.domain.calendar import Appointment, BusyEvent, CalendarEvent
from botfleet.domain.errors import (
    ConnectorError,
    ConnectorRateLimited,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
)
from botfleet.ports.clock import Clock

T = TypeVar("T")
log = structlog.get_logger("botfleet.connectors.calendar")
_GONE = frozenset({404, 410})
#: Versions of events contacts were shown, kept for the write that may follow (older ones are
#: forgotten first; their write then names the version its own read sees).
_REMEMBERED_VERSIONS = 4096


def _status(exc: BaseException) -> int | None:
    """The HTTP status a `caldav` error came with (None for the library's own verdicts, such
    as "no event with that UID", which are not answers about the URL)."""
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _refused_as_stale(exc: BaseException) -> bool:
    """A conditional write (If-Match / If-Schedule-Tag-Match) answered 412: the event is not
    the version that was read. (A create's If-None-Match refusal is another error class.)"""
    from caldav.lib import error

    return isinstance(exc, error.ETagMismatchError | error.ScheduleTagMismatchError)


def translate(exc: Exception, what: str) -> ConnectorError:
    """A CalDAV/transport error as a `ConnectorError` (no URLs, bodies or credentials)."""
    from caldav.lib import error

    if isinstance(exc, ConnectorError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) or "Timeout" in name:
        return ConnectorTimeout(f"the CalDAV server did not answer {what} in time")
    if isinstance(exc, error.AuthorizationError):
        return ConnectorRejected(f"the CalDAV server refused the credentials during {what}")
    if _refused_as_stale(exc):
        return EventChanged(f"the CalDAV server refused {what}: the event changed meanwhile")
    if isinstance(exc, error.NotFoundError) or _status(exc) in _GONE:
        return CalendarNotFound(
            f"the CalDAV calendar was not found during {what} "
            "(check the url, calendar_id or calendar_name setting)"
        )
    if isinstance(exc, error.RateLimitError) and getattr(exc, "status", None) == 429:
        return ConnectorRateLimited(
            f"the CalDAV server rate-limited {what} (HTTP 429)",
            retry_after=exc.retry_after_seconds,
        )
    return ConnectorUnavailable(f"the CalDAV server failed during {what} ({name})")


def no_redirects(session: Any) -> None:
    """Make `session` (the client's niquests/requests session) never follow a redirect.

    A 3xx would send the request again, credentials included, to wherever it points (an
    internal address, another host); it comes back as the answer instead, which the client
    reports as an error (`unavailable`). The client passes no `allow_redirects` of its own.
    """
    session.request = functools.partial(session.request, allow_redirects=False)


def _no_userinfo(url: str) -> str:
    """`url` without the `user:password@` of its authority, if it has one."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


def _has_version(resource: Any) -> bool:
    """Whether the resource carries a tag a conditional request can name (weak ETags can not)."""
    etag = resource.etag
    return bool(resource.schedule_tag) or bool(etag and not str(etag).startswith("W/"))


def _version(resource: Any) -> str | None:
    """The tag naming the stored version of `resource`: its Schedule-Tag when the server gives
    one (RFC 6638, 3.2.10: an attendee's reply leaves it alone, any other change replaces it),
    else its ETag; None when it has neither."""
    if resource.schedule_tag:
        return f"schedule-tag {resource.schedule_tag}"
    return f"etag {resource.etag}" if resource.etag else None


def _changed_since(resource: Any, shown: str | None) -> bool:
    """Whether `resource` is no longer the version `shown` (unknowable without both tags)."""
    now = _version(resource)
    return shown is not None and now is not None and now != shown


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
        self._client_factory = client or self._new_client
        self._calendar_url: str | None = None
        self._discovery = threading.Lock()
        # UID -> version tag the contact was shown (a listing, a booking's or a move's answer),
        # else of its last read. Touched on the event loop only, never in worker threads.
        self._shown: OrderedDict[str, str] = OrderedDict()

    def _remember(self, uid: str, version: str | None) -> None:
        self._shown.pop(uid, None)
        if version is not None:
            self._shown[uid] = version
            while len(self._shown) > _REMEMBERED_VERSIONS:
                self._shown.popitem(last=False)

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

    def _known_url(self, client: Any) -> tuple[str, bool]:
        """The calendar's URL, and whether it was remembered from an earlier request."""
        with self._discovery:
            if self._calendar_url is not None:
                return self._calendar_url, True
            self._calendar_url = self._discover(client)
            return self._calendar_url, False

    def _rediscover(self, client: Any, stale: str) -> str | None:
        """The calendar's URL found again after `stale` answered 404/410; None when discovery
        leads to `stale` again. Concurrent requests that hit the same dead URL find it once."""
        with self._discovery:
            if self._calendar_url == stale:
                # Forgotten first: if discovery fails, the next request tries again.
                self._calendar_url = None
                self._calendar_url = self._discover(client)
                log.warning(
                    "caldav_calendar_rediscovered",
                    connector=self.binding,
                    moved=self._calendar_url != stale,
                    calendar_name=self.settings.calendar_name,
                )
            fresh = self._calendar_url
        return None if fresh == stale else fresh

    def _calendar_missing(self, what: str) -> CalendarNotFound:
        """The configured calendar answers 404/410 even after finding it again. Logged (by
        the resilience layer, `CalendarNotFound`) with the setting that chose it and its value:
        `calendar_id` (without user information: a URL may carry a password) or
        `calendar_name`; with neither, the account's first calendar was used (`setting: url`,
        whose value is not logged)."""
        fields: dict[str, Any] = {"type": "caldav"}
        if self.settings.calendar_id:
            calendar_id = _no_userinfo(self.settings.calendar_id)
            fields |= {"setting": "calendar_id", "calendar_id": calendar_id}
        elif self.settings.calendar_name:
            fields |= {"setting": "calendar_name", "calendar_name": self.settings.calendar_name}
        else:
            fields |= {"setting": "url"}
        fields["request"] = what
        return CalendarNotFound(
            f"the CalDAV calendar was not found during {what} "
            f"(check the {fields['setting']} setting)",
            log_fields=fields,
        )

    def _discover(self, client: Any) -> str:
        if self.settings.calendar_id:
            return urljoin(self.settings.url, self.settings.calendar_id)
        calendars = client.principal().calendars()
        wanted = self.settings.calendar_name
        if wanted is not None:
            names = [(c, c.get_display_name()) for c in calendars]
            match = [c for c, name in names if name == wanted]
            if not match:
                known = ", ".join(sorted(repr(str(n)) for _, n in names)) or "none"
                raise ConnectorRejected(f"no CalDAV calendar named {wanted!r} (found: {known})")
            calendars = match
        if not calendars:
            raise ConnectorRejected("the CalDAV account has no calendar")
        return str(calendars[0].url)

    async def _run(self, what: str, work: Callable[[Any], T]) -> T:
        def blocking() -> T:
            with self._client_factory() as client:
                url, remembered = self._known_url(client)
                try:
                    return work(client.calendar(url=url))
                except Exception as exc:
                    if _status(exc) not in _GONE:
                        raise
                # The calendar's own URL is dead. A `calendar_id` is the URL itself, and one
                # found just now is as fresh as it gets: only a remembered one is looked up again.
                fresh = None
                if remembered and not self.settings.calendar_id:
                    fresh = self._rediscover(client, url)
                if fresh is None:
                    raise self._calendar_missing(what)
                try:
                    return work(client.calendar(url=fresh))
                except Exception as exc:
                    if _status(exc) in _GONE:
                        raise self._calendar_missing(what) from None
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
            if _status(exc) is not None:
                raise  # the search itself answered 404: the calendar's URL, not the event
            return None

    def _appointment_of(self, resource: Any | None) -> Appointment | None:
        if resource is None:
            return None
        return wire.ical_appointment(resource.icalendar_component, self._tz)

    # ------------------------------------------------------------------ the store port

    async def events_between(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        components = await self._run("search", lambda cal: self._search(cal, start, end))
        parsed = (wire.ical_event(c, self._tz) for c in components)
        return [e for e in parsed if e is not None]

    async def appointments_from(
        self, contact_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        def listed(calendar: Any) -> list[tuple[Any, str | None]]:
            # Not expanded: bookings never recur, a year of staff's recurring events expanded
            # would only be parsed and dropped, and expanded resources lose their tags.
            found = calendar.search(start=start, end=end, event=True, expand=False)
            return [(c, _version(item)) for item in found for c in _vevents([item])]

        found = []
        for component, version in await self._run("search", listed):
            appointment = wire.ical_appointment(component, self._tz)
            if appointment is not None and appointment.contact_id == contact_id:
                self._remember(appointment.event_id, version)
                found.append(appointment)
        return found

    async def appointment(self, event_id: str) -> Appointment | None:
        found, version = await self._run("get", lambda cal: self._read(cal, event_id))
        if found is None:
            self._shown.pop(event_id, None)
        elif event_id not in self._shown:
            # Only when the contact was shown no version: the one shown is what they decide on.
            self._remember(event_id, version)
        return found

    def _read(self, calendar: Any, uid: str) -> tuple[Appointment | None, str | None]:
        resource = self._by_uid(calendar, uid)
        return self._appointment_of(resource), None if resource is None else _version(resource)

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
            appointment, uid=uid, idempotency_key=idempotency_key, now=datetime.now(self._tz)
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
        self._remember(made.event_id, version)  # the booking's answer shows it to the contact
        return made

    async def delete(self, event_id: str) -> bool:
        shown = self._shown.pop(event_id, None)  # used once, as a write's If-Match is

        def remove(calendar: Any) -> bool:
            resource = self._by_uid(calendar, event_id)
            if resource is None:
                return False
            if _changed_since(resource, shown):
                raise EventChanged("the appointment changed after the contact was shown it")
            try:
                # Only the version just read: an unconditional DELETE would remove whatever
                # staff made of the event meanwhile (moved elsewhere, given to someone else).
                resource.delete(if_match=_has_version(resource))
            except Exception as exc:
                if _refused_as_stale(exc):
                    raise EventChanged(
                        "the appointment changed while it was being cancelled"
                    ) from None
                if _status(exc) in _GONE:
                    return False
                raise
            return True

        return await self._run("delete", remove)

    async def move(self, appointment: Appointment, start: datetime, end: datetime) -> Appointment:
        shown = self._shown.pop(appointment.event_id, None)

        def patch(calendar: Any) -> tuple[Appointment, str | None]:
            resource = self._by_uid(calendar, appointment.event_id)
            if resource is None:
                raise EventGone("the appointment disappeared while it was being moved")
            if _changed_since(resource, shown):
                raise EventChanged("the appointment changed after the contact was shown it")
            component = resource.icalendar_component
            for name, value in (("dtstart", start), ("dtend", end)):
                component.pop(name, None)
                component.add(name, value.astimezone(UTC))
            component.pop("duration", None)
            try:
                resource.save()  # If-Match with the ETag read above (the client sends it)
            except Exception as exc:
                if _refused_as_stale(exc):
                    raise EventChanged("the appointment changed while it was being moved") from None
                if _status(exc) in _GONE:
                    raise EventGone(
                        "the appointment disappeared while it was being moved"
                    ) from None
                raise
            return self._appointment_of(resource) or appointment, _version(resource)

        moved, version = await self._run("put", patch)
        self._remember(appointment.event_id, version)  # the answer tells the new times
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
