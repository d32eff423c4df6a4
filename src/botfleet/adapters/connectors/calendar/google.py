"""`google_calendar`: the calendar category on Google Calendar (google-api-python-client).

The client is blocking (httplib2), so each request runs in a worker thread
(`asyncio.to_thread`) with its own HTTP object (httplib2 is not thread-safe). Reads use
`events.list` (titles are needed for ``[CFG]`` directives), and so does the re-check right
before a booking (free/busy would count all-day directives as busy). Bookings carry the
contact and service in ``extendedProperties.private`` and in the description (`events.py`),
and their event id comes from the request's idempotency key, so a retried insert answers 409
instead of booking twice. Google's errors become `ConnectorError`s in `google_errors.py`; the
credentials and per-request HTTP objects are `google_auth.py`'s.

A 404 means different things depending on the request, since Google's body is the same
``notFound`` for a missing calendar and a missing event: on a calendar-wide request
(`events.list`, `events.insert`) the calendar itself is missing or not shared
(`CalendarNotFound`, logged naming the `calendar_id` setting); on an event request
(`events.get`/`patch`/`delete`) the event is gone (someone deleted it), unless the calendar has
not answered yet in this process, in which case one `events.list` tells the two apart.

A move or a cancel writes only the version of the event the contact was shown: `events.patch`
and `events.delete` carry ``If-Match`` with the ``etag`` the event had when this store last
listed it among the contact's appointments (or answered a booking or a move of it), else the
``etag`` of the `events.get` every write makes right before it (its owner check). So a staff
edit since the contact saw the appointment is refused with 412 (``conditionNotMet``), which is
`EventChanged`, instead of being overwritten or deleted. An event whose etag is not known is
written as before. The etags live in this process only (`shown_versions.py`): after a restart,
the get's is used.

Google refusing the key (401, a token request refused) or the service account's access to the
calendar (a 403 that is no limit) is a `MisconfiguredBinding`: the operator's log line names the
calendar and the service account's e-mail, the address to share the calendar with.

Google keeps a deleted event readable by `events.get` for a while, with ``status: cancelled``
(and, not guaranteed, its other fields): such an event is no appointment, but the booking it
was is remembered (`cancelled.py`), so a cancel repeated after a restart (its first answer was
lost) is told "already cancelled" instead of `not_found`. Google does not say who deleted it:
one staff deleted is answered the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar.cancelled import CancelledBookings
from botfleet.adapters.connectors.calendar.config import (
    GoogleCalendarSettings,
    with_tenant_timezone,
)
from botfleet.adapters.connectors.calendar.google_auth import (
    HttpFactory,
    authorised_http,
    credentials,
    plain_http,
)
from botfleet.adapters.connectors.calendar.google_errors import (
    GONE,
    http_status,
    refused_setting,
    translate,
)
from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.adapters.connectors.calendar.shown_versions import ShownVersions
from botfleet.adapters.connectors.calendar.store import CalendarNotFound, EventChanged, EventGone
from botfleet.adapters.connectors.calendar.texts import calendar_texts
from botfleet.adapters.connectors.refusals import MisconfiguredBinding
from botfleet.domain.calendar import Appointment, BusyEvent, CalendarEvent
from botfleet.domain.errors import ConnectorError, ConnectorRejected
from botfleet.ports.clock import Clock

__all__ = ["GoogleCalendarStore", "build"]

_PAGE_SIZE = 2500


class GoogleCalendarStore:
    """Events of one Google calendar. Satisfies `CalendarStore`."""

    def __init__(
        self,
        settings: GoogleCalendarSettings,
        service: Any,
        http: HttpFactory | None,
        *,
        service_account: str | None = None,
    ) -> None:
        self.settings = settings
        # The service account's e-mail (not a secret: staff share calendars with it), for the
        # operator's log line when Google refuses it.
        self._account = service_account
        self._service = service
        self._http = http
        self._tz = settings.tz
        self._texts = calendar_texts(settings.language)  # of the events staff read
        # Whether the calendar has answered a request: until then an event request's 404 may
        # be the calendar's own (a wrong `calendar_id`) and is checked once.
        self._calendar_seen = False
        # Event id -> etag of the version the contact was shown (a listing of their appointments,
        # the answer to a booking or a move), else of its last `events.get`: the If-Match of the
        # write after it.
        self._etags = ShownVersions()
        # Event id -> the booking a deleted event was, as its last `events.get` answered it.
        self._cancelled = CancelledBookings()

    async def _send(self, request: Any) -> Any:
        """The answer; Google's and transport errors as raised by the client."""
        http = self._http() if self._http is not None else None
        answer = await asyncio.to_thread(request.execute, http=http, num_retries=0)
        self._calendar_seen = True
        return answer

    async def _execute(self, request: Any, what: str) -> Any:
        """A calendar-wide request (`events.list`, `events.insert`): a 404 is the calendar's."""
        from googleapiclient.errors import HttpError

        try:
            return await self._send(request)
        except HttpError as exc:
            if http_status(exc) == 404:
                raise self._calendar_missing(what) from None
            raise self._translated(exc, what) from None
        except Exception as exc:
            raise self._translated(exc, what) from None

    async def _event_request(self, request: Any, what: str) -> Any | None:
        """An event request (`events.get`/`patch`/`delete`): None when the event is gone."""
        from googleapiclient.errors import HttpError

        try:
            return await self._send(request)
        except HttpError as exc:
            status = http_status(exc)
            if status == 412:  # `conditionNotMet`: changed since the version the request named
                raise EventChanged(f"Google Calendar answered 412 to {what}") from None
            if status not in GONE:
                raise self._translated(exc, what) from None
            if status == 404 and not self._calendar_seen:
                await self._check_calendar()  # raises `CalendarNotFound` if it is the calendar's
            return None
        except Exception as exc:
            raise self._translated(exc, what) from None

    async def _check_calendar(self) -> None:
        request = self._service.events().list(
            calendarId=self.settings.calendar_id, maxResults=1, fields="kind"
        )
        await self._execute(request, "events.list")

    def _translated(self, exc: Exception, what: str) -> ConnectorError:
        """`exc` as a connector error; Google refusing the service account or its access to
        the calendar is the binding's to fix, so it also gets the operator's log line
        (`connector_misconfigured`), naming the calendar and the service account to share it
        with: the message alone does not say which of a tenant's calendars, or which key."""
        error = translate(exc, what)
        setting = refused_setting(exc)
        if setting is None or type(error) is not ConnectorRejected:
            return error
        if setting == "credentials":
            setting = (
                "credentials_path" if self.settings.credentials_path else "service_account_info"
            )
        return MisconfiguredBinding(
            str(error),
            log_fields={
                "type": "google_calendar",
                "setting": setting,
                "calendar_id": self.settings.calendar_id,
                "service_account": self._account,
                "request": what,
            },
        )

    def _calendar_missing(self, what: str) -> CalendarNotFound:
        self._calendar_seen = False
        # The value goes to the operator's log only (`calendar_not_found`, written by the
        # resilience layer with the binding and the turn): messages never carry addresses.
        return CalendarNotFound(
            f"Google Calendar answered 404 to {what}: the calendar was not found (check the "
            "calendar_id setting and that the calendar is shared with the service account)",
            log_fields={
                "type": "google_calendar",
                "setting": "calendar_id",
                "calendar_id": self.settings.calendar_id,
                "request": what,
                "hint": "check the calendar_id setting and that the calendar is shared with "
                "the service account",
            },
        )

    async def _list(self, what: str, **query: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page: str | None = None
        events = self._service.events()
        while True:
            request = events.list(
                calendarId=self.settings.calendar_id,
                singleEvents=True,
                showDeleted=False,
                maxResults=_PAGE_SIZE,
                pageToken=page,
                **query,
            )
            answer = await self._execute(request, what)
            items.extend(answer.get("items", []))
            page = answer.get("nextPageToken")
            if not page:
                return items

    async def events_between(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        items = await self._list(
            "events.list", timeMin=_rfc3339(start), timeMax=_rfc3339(end), orderBy="startTime"
        )
        parsed = (wire.google_event(item, self._tz) for item in items)
        return [event for event in parsed if event is not None]

    async def appointments_from(
        self, contact_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        prop = f"{wire.GOOGLE_PROPS['contact_id']}={contact_id}"
        items = await self._list(
            "events.list",
            timeMin=_rfc3339(start),
            timeMax=_rfc3339(end),
            privateExtendedProperty=prop,
        )
        found = []
        for item in items:
            appointment = wire.google_appointment(item, self._tz)
            if appointment is not None:
                self._shown(appointment.event_id, item)
                found.append(appointment)
        return found

    async def appointment(self, event_id: str) -> Appointment | None:
        request = self._service.events().get(calendarId=self.settings.calendar_id, eventId=event_id)
        item = await self._event_request(request, "events.get")
        if item is None:
            self._etags.forget(event_id)
            return None
        if isinstance(item, dict) and item.get("status") == "cancelled":
            self._etags.forget(event_id)  # no version of it is left to write
            deleted = wire.google_deleted_appointment(item, self._tz)
            if deleted is not None:
                self._cancelled.remember(deleted)
            return None
        self._cancelled.forget(event_id)  # live (again: staff may restore a deleted event)
        if event_id not in self._etags:
            # Only when the contact was shown no version: the one shown is what they decide on.
            self._shown(event_id, item)
        return wire.google_appointment(item, self._tz)

    async def cancelled(self, event_id: str) -> Appointment | None:
        # Answered from the `events.get` the service made just before (no request of its own).
        return self._cancelled.get(event_id)

    def _shown(self, event_id: str, item: Any) -> None:
        """Remember `item`'s etag as the version of `event_id` the contact knows."""
        etag = item.get("etag") if isinstance(item, dict) else None
        self._etags.remember(event_id, etag if isinstance(etag, str) else None)

    def _only_as_read(self, request: Any, event_id: str) -> Any:
        """`request` (a write of the event) made conditional on the version the contact knows.

        The etag is used once: a refused write is not repeated with it, and the next write
        names the version its own read sees unless the contact is shown one again."""
        etag = self._etags.take(event_id)
        if etag is not None:
            request.headers["If-Match"] = etag
        return request

    async def booking_for_key(self, idempotency_key: str) -> Appointment | None:
        prop = f"{wire.GOOGLE_IDEMPOTENCY}={wire.idempotency_tag(idempotency_key)}"
        found = _appointments(
            await self._list("events.list", privateExtendedProperty=prop), self._tz
        )
        return found[0] if found else None

    async def busy_between(
        self, start: datetime, end: datetime, *, ignore: str | None = None
    ) -> list[BusyEvent]:
        # `events.list`, not `freebusy.query`: free/busy counts every opaque event, and the
        # API (like many apps) makes all-day events opaque, so a ``[CFG] HORARIO`` directive
        # or a staff all-day note would refuse every slot the slot rules offer that day. It
        # also merges intervals, so it could not leave the event being moved out.
        timed = await self.events_between(start, end)
        return [e for e in timed if isinstance(e, BusyEvent) and e.event_id != ignore]

    async def create(self, appointment: Appointment, idempotency_key: str) -> Appointment:
        from googleapiclient.errors import HttpError

        body = wire.google_body(
            appointment, self._tz, idempotency_key=idempotency_key, texts=self._texts
        )
        request = self._service.events().insert(
            calendarId=self.settings.calendar_id, body=body, sendUpdates="none"
        )
        try:
            item = await self._send(request)
        except HttpError as exc:
            if http_status(exc) == 404:
                raise self._calendar_missing("events.insert") from None
            if http_status(exc) != 409:
                raise self._translated(exc, "events.insert") from None
            # 409: this request's event exists already (an earlier attempt got through).
            existing = await self.appointment(body["id"])
            if existing is None:
                raise ConnectorRejected(
                    "this booking request was already used for an event that is gone"
                ) from None
            return existing
        except Exception as exc:
            raise self._translated(exc, "events.insert") from None
        self._shown(str(item["id"]), item)  # the booking's answer shows it to the contact
        created = wire.google_appointment(item, self._tz)
        return created or replace(appointment, event_id=str(item["id"]))

    async def delete(self, event_id: str) -> bool:
        request = self._service.events().delete(
            calendarId=self.settings.calendar_id, eventId=event_id, sendUpdates="none"
        )
        self._only_as_read(request, event_id)
        return await self._event_request(request, "events.delete") is not None

    async def move(self, appointment: Appointment, start: datetime, end: datetime) -> Appointment:
        body = {"start": wire.google_time(start, self._tz), "end": wire.google_time(end, self._tz)}
        request = self._service.events().patch(
            calendarId=self.settings.calendar_id,
            eventId=appointment.event_id,
            body=body,
            sendUpdates="none",
        )
        self._only_as_read(request, appointment.event_id)
        item = await self._event_request(request, "events.patch")
        if item is None:
            raise EventGone("the appointment disappeared while it was being moved")
        self._shown(appointment.event_id, item)  # the answer tells the contact the new times
        return wire.google_appointment(item, self._tz) or appointment


def _appointments(items: list[dict[str, Any]], tz: Any) -> list[Appointment]:
    parsed = (wire.google_appointment(item, tz) for item in items)
    return [a for a in parsed if a is not None]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def build(
    settings: Mapping[str, Any], *, timezone: str, clock: Clock, http: Any | None = None
) -> CalendarService:
    """The `google_calendar` connector from raw tenant settings.

    Args:
        settings: the raw `connectors.calendar` mapping.
        timezone: the tenant's time zone (used when the settings give none).
        clock: the runtime's clock.
        http: an httplib2-compatible object used for every request instead of authorised
            per-request ones (tests: `googleapiclient.http.HttpMockSequence`).

    Raises:
        pydantic.ValidationError / ValueError: the settings or credentials are unusable.
    """
    from googleapiclient.discovery import build as discovery_build

    parsed = GoogleCalendarSettings.model_validate(
        {"type": "google_calendar", **with_tenant_timezone(settings, timezone)}
    )
    key = credentials(parsed) if http is None else None
    factory = authorised_http(parsed, key) if http is None else None
    service = discovery_build(
        "calendar",
        "v3",
        http=http if http is not None else plain_http(parsed),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": parsed.api_base_url},
    )
    account = getattr(key, "service_account_email", None)
    store = GoogleCalendarStore(parsed, service, factory, service_account=account)
    return CalendarService(parsed, store, clock=clock)
