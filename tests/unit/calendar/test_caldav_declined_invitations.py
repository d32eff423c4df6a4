"""CalDAV: an invitation the calendar declined does not keep contacts from booking its time.

Against a local Radicale (`calendar_fakes.CalDavServer`). Radicale's principal lists only its
own URL in ``calendar-user-address-set``; `AddressedServer` adds ``mailto:`` addresses to that
answer, as Nextcloud, iCloud and Fastmail give them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog
from calendar_fakes import USER, CalDavServer

from botfleet.adapters.connectors.calendar import caldav as caldav_adapter
from botfleet.adapters.connectors.calendar.service import CalendarService

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)  # Monday morning
DAY = "2024-05-06"
TEN, HALF_PAST = f"hour_{DAY}_1000", f"hour_{DAY}_1030"


class StoppedClock:
    def now(self) -> datetime:
        return NOW


class AddressedServer(CalDavServer):
    """Radicale whose principal also lists `addresses` in its calendar-user-address-set; it
    answers 503 to the next `unavailable` principal lookups."""

    def __init__(self, folder: Path, addresses: list[str]) -> None:
        self.addresses = addresses
        self.unavailable = 0
        super().__init__(folder)

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] != "PROPFIND" or environ["PATH_INFO"] != f"/{USER}/":
            return super()._wsgi(environ, start_response)
        answer: list[Any] = []
        plain = {k: v for k, v in environ.items() if k != "HTTP_ACCEPT_ENCODING"}  # not gzipped
        body = b"".join(super()._wsgi(plain, lambda *a: answer.extend(a[:2])))
        status, headers = answer
        if self.unavailable and not environ.get("HTTP_X_TEST_STAFF"):
            self.unavailable -= 1
            status, headers, body = "503 Service Unavailable", [], b""
        tag = b"<C:calendar-user-address-set>"
        body = body.replace(
            tag, tag + b"".join(f"<href>{a}</href>".encode() for a in self.addresses)
        )
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture
def addressed(tmp_path: Path) -> Iterator[AddressedServer]:
    server = AddressedServer(tmp_path, ["mailto:Salon@Example.com"])
    try:
        yield server
    finally:
        server.close()


def connect(server: CalDavServer, **settings: Any) -> CalendarService:
    raw = {
        "url": server.url,
        "username": USER,
        "password": "secret",
        "calendar_name": "Bookings",
        "schedule": {"mon": ["10:00-12:00"]},
        **settings,
    }
    return caldav_adapter.build(raw, timezone="Europe/Madrid", clock=StoppedClock())


def invitation(*attendees: str, uid: str = "supplier-visit") -> str:
    """A supplier's meeting invitation, 10:00-11:00 Madrid, as a client stores it."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//supplier//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20240501T080000Z",
        "DTSTART:20240506T080000Z",
        "DTEND:20240506T090000Z",
        "SUMMARY:Supplier visit",
        "ORGANIZER:mailto:rep@supplier.example",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:rep@supplier.example",
        *attendees,
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


async def slots(connector: CalendarService) -> list[str]:
    items = await connector.call("get_slots_for_day", {"date_str": DAY}, idempotency_key="k")
    return [str(item["id"]) for item in items]


def declined_by(address: str) -> str:
    return f"ATTENDEE;CN=Salon;PARTSTAT=DECLINED;RSVP=FALSE:{address}"


async def test_a_declined_invitation_blocks_time_while_no_own_address_is_known(
    caldav_server: CalDavServer,
) -> None:
    # Radicale's principal gives only its own URL, which the invitation does not use.
    bookings = caldav_server.make_calendar("Bookings")
    caldav_server.put_event(bookings, invitation(declined_by("mailto:salon@example.com")))
    offered = await slots(connect(caldav_server))
    assert TEN not in offered
    assert HALF_PAST not in offered


async def test_owner_emails_free_the_time_of_an_invitation_declined_under_them(
    caldav_server: CalDavServer,
) -> None:
    bookings = caldav_server.make_calendar("Bookings")
    caldav_server.put_event(bookings, invitation(declined_by("MAILTO:Salon@EXAMPLE.com")))
    offered = await slots(connect(caldav_server, owner_emails=["salon@example.com"]))
    assert TEN in offered
    assert HALF_PAST in offered


async def test_owner_emails_do_not_free_an_invitation_another_guest_declined(
    caldav_server: CalDavServer,
) -> None:
    bookings = caldav_server.make_calendar("Bookings")
    caldav_server.put_event(
        bookings,
        invitation(
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:salon@example.com",
            declined_by("mailto:ana@example.com"),
        ),
    )
    offered = await slots(connect(caldav_server, owner_emails=["salon@example.com"]))
    assert TEN not in offered


async def test_radicales_principal_url_is_one_of_its_own_addresses(
    caldav_server: CalDavServer,
) -> None:
    bookings = caldav_server.make_calendar("Bookings")
    caldav_server.put_event(bookings, invitation(declined_by(f"{caldav_server.url}{USER}/")))
    assert TEN in await slots(connect(caldav_server))


async def test_the_servers_mailto_addresses_free_a_declined_invitation(
    addressed: AddressedServer,
) -> None:
    bookings = addressed.make_calendar("Bookings")
    addressed.put_event(bookings, invitation(declined_by("mailto:SALON@example.COM")))
    assert TEN in await slots(connect(addressed))


async def test_a_declined_recurring_invitation_frees_each_occurrence(
    addressed: AddressedServer,
) -> None:
    bookings = addressed.make_calendar("Bookings")
    weekly = (
        invitation(declined_by("mailto:salon@example.com"))
        .replace("DTSTART:20240506T080000Z", "DTSTART:20240429T080000Z")
        .replace("DTEND:20240506T090000Z", "DTEND:20240429T090000Z\r\nRRULE:FREQ=WEEKLY")
    )
    addressed.put_event(bookings, weekly)
    assert TEN in await slots(connect(addressed))


async def test_the_principal_is_asked_once_and_only_when_someone_declined(
    addressed: AddressedServer,
) -> None:
    bookings = addressed.make_calendar("Bookings")
    calendar = connect(addressed)
    await slots(calendar)  # found the calendar: the lookup asked the principal for that
    addressed.requests.clear()
    addressed.put_event(bookings, invitation("ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@example.com"))
    await slots(calendar)
    assert addressed.sent("PROPFIND") == []  # nobody declined: no addresses needed

    addressed.put_event(bookings, invitation(declined_by("mailto:salon@example.com"), uid="b"))
    assert TEN not in await slots(calendar)  # the accepted invitation still holds 10:00
    assert len(addressed.sent("PROPFIND")) == 2  # the principal's URL, then its addresses
    await slots(calendar)
    assert len(addressed.sent("PROPFIND")) == 2  # remembered


async def test_a_principal_lookup_that_fails_for_now_blocks_the_time_and_is_asked_again(
    addressed: AddressedServer,
) -> None:
    bookings = addressed.make_calendar("Bookings")
    calendar = connect(addressed)
    await slots(calendar)  # the calendar is found (that lookup asks the principal too)
    addressed.put_event(bookings, invitation(declined_by("mailto:salon@example.com")))
    addressed.unavailable = 1
    with structlog.testing.capture_logs() as logs:
        assert TEN not in await slots(calendar)  # the read itself does not fail
    (logged,) = [e for e in logs if e["event"] == "caldav_owner_addresses_unknown"]
    assert (logged["connector"], logged["asked_again"]) == ("calendar", True)
    assert TEN in await slots(calendar)
