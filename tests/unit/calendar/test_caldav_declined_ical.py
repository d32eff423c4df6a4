"""CalDAV: an invitation the calendar declined holds no time (the iCalendar side, pure).

An invitation stays in the calendar whatever the answer; the calendar's own ATTENDEE entry
carries it (RFC 5545, 3.2.12: ``ATTENDEE;PARTSTAT=DECLINED:mailto:...``). Which entry is the
calendar's own is given by its addresses (`own`), compared case-insensitively for ``mailto:``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from pydantic import ValidationError

from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar.config import CalDavSettings
from botfleet.domain.calendar import AllDayEvent, BusyEvent

MADRID = ZoneInfo("Europe/Madrid")
SALON = frozenset({"mailto:salon@example.com"})


def vevent(*lines: str, times: str = "DTSTART:20240506T080000Z\r\nDTEND:20240506T090000Z") -> Any:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:supplier-visit\r\nDTSTAMP:20240501T080000Z\r\n"
        f"{times}\r\nSUMMARY:Supplier visit\r\nORGANIZER:mailto:rep@supplier.example\r\n"
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:rep@supplier.example\r\n"
        + "".join(f"{line}\r\n" for line in lines)
        + "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (component,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    return component


@pytest.mark.parametrize(
    "attendee",
    [
        "ATTENDEE;CN=Salon;PARTSTAT=DECLINED:mailto:salon@example.com",
        "ATTENDEE;PARTSTAT=DECLINED;RSVP=TRUE:MAILTO:Salon@Example.COM",
        "ATTENDEE;PARTSTAT=declined:mailto:SALON@example.com",
    ],
)
def test_an_invitation_the_calendar_declined_is_not_busy(attendee: str) -> None:
    assert wire.ical_event(vevent(attendee), MADRID, own=SALON) is None


def test_own_addresses_are_matched_whatever_their_case() -> None:
    own = frozenset({wire.calendar_user_address(" MailTo:Salon@EXAMPLE.com ")})
    event = vevent("ATTENDEE;PARTSTAT=DECLINED:mailto:salon@example.com")
    assert wire.ical_event(event, MADRID, own=own) is None


@pytest.mark.parametrize(
    "attendee",
    [
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:salon@example.com",
        "ATTENDEE;PARTSTAT=TENTATIVE:mailto:salon@example.com",
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:salon@example.com",
        "ATTENDEE:mailto:salon@example.com",  # no PARTSTAT: NEEDS-ACTION (RFC 5545)
    ],
)
def test_an_invitation_not_declined_is_busy(attendee: str) -> None:
    event = wire.ical_event(vevent(attendee), MADRID, own=SALON)
    assert isinstance(event, BusyEvent)
    assert event.start == datetime(2024, 5, 6, 10, tzinfo=MADRID)


def test_another_guest_declining_frees_nothing() -> None:
    event = vevent(
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:salon@example.com",
        "ATTENDEE;PARTSTAT=DECLINED:mailto:ana@example.com",
    )
    assert isinstance(wire.ical_event(event, MADRID, own=SALON), BusyEvent)


def test_an_alias_that_accepted_still_holds_the_time() -> None:
    own = SALON | {"mailto:bookings@example.com"}
    event = vevent(
        "ATTENDEE;PARTSTAT=DECLINED:mailto:salon@example.com",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bookings@example.com",
    )
    assert isinstance(wire.ical_event(event, MADRID, own=own), BusyEvent)


def test_with_no_own_address_known_a_declined_invitation_still_blocks() -> None:
    event = vevent("ATTENDEE;PARTSTAT=DECLINED:mailto:salon@example.com")
    assert wire.ical_has_declines(event)
    assert isinstance(wire.ical_event(event, MADRID), BusyEvent)


def test_a_principal_url_is_an_address_too() -> None:
    own = frozenset({"https://dav.example.com/salon/"})
    event = vevent("ATTENDEE;PARTSTAT=DECLINED:https://dav.example.com/salon/")
    assert wire.ical_event(event, MADRID, own=own) is None


def test_a_declined_all_day_event_is_still_read() -> None:
    # All-day events carry the slot rules' [CFG] directives; an answer does not hide them.
    event = vevent(
        "ATTENDEE;PARTSTAT=DECLINED:mailto:salon@example.com",
        times="DTSTART;VALUE=DATE:20240506\r\nDTEND;VALUE=DATE:20240507",
    )
    assert isinstance(wire.ical_event(event, MADRID, own=SALON), AllDayEvent)


def test_an_invitation_nobody_declined_has_no_declines() -> None:
    # What spares the server the principal lookup (`caldav_owner`).
    assert not wire.ical_has_declines(vevent("ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@example.com"))


# ---------------------------------------------------------------- the owner_emails setting


def caldav_settings(**raw: Any) -> CalDavSettings:
    return CalDavSettings.model_validate(
        {"type": "caldav", "url": "https://dav.example.com/", "timezone": "UTC", **raw}
    )


def test_owner_emails_are_kept_lowercase_without_mailto() -> None:
    parsed = caldav_settings(owner_emails=["Salon@Example.com", "mailto:Bookings@example.com "])
    assert parsed.owner_emails == ["salon@example.com", "bookings@example.com"]
    assert caldav_settings().owner_emails == []


@pytest.mark.parametrize("bad", ["salon", "@example.com", "salon@", "sa lon@example.com", ""])
def test_an_owner_email_that_is_no_address_is_refused_naming_the_entry(bad: str) -> None:
    with pytest.raises(ValidationError) as raised:
        caldav_settings(owner_emails=["salon@example.com", bad])
    (error,) = raised.value.errors()
    assert error["loc"] == ("owner_emails", 1)
    assert "not an e-mail address" in error["msg"]
