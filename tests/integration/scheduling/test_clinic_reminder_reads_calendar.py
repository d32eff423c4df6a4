"""The dental clinic's reminder reads the appointment from the calendar when it is due, as a
WhatsApp tenant gets it: the approved template, whose parameters are the appointment's current
treatment, day ("mañana", or the day itself: an approved body saying "tomorrow" would say it of
an appointment moved to another day too) and time. Staff edit the in-memory calendar behind
the bot's back.

Also: a job without `reminder_event_id` (an earlier version's) keeps its text even when the
contact's `data.event_id` names the appointment, which is why the clinic's key is not
`event_id`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from botfleet.adapters.channels.whatsapp.payloads import WHATSAPP_CAPABILITIES
from botfleet.adapters.connectors.calendar import InMemoryCalendar
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.errors import ConnectorUnavailable
from botfleet.domain.outputs import Output, TemplateMessage
from botfleet.domain.tenant_config import load_tenant_config
from botfleet.flows.effects import ScheduleTask
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import (
    RecordingSender,
    bootstrap_test_runtime,
    choice_message,
    text_message,
)
from botfleet.testing.scheduling import ManualScheduler

CLINIC = Path(__file__).parents[3] / "examples" / "dental_clinic" / "tenant.yaml"
MADRID = ZoneInfo("Europe/Madrid")
#: A WhatsApp contact: the id is the phone number, so the flow asks for none.
CONTACT = "34611222333"
#: Monday 6 May 2024, 09:00 in Madrid.
START = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)
#: The cleaning booked below: Wednesday 8 May at 09:00, reminded on Tuesday at 09:00.
BOOKED_AT = datetime(2024, 5, 8, 9, 0, tzinfo=MADRID)


@dataclass
class Clinic:
    runtime: ConversationRuntime
    scheduler: ManualScheduler
    calendar: InMemoryCalendar
    sender: RecordingSender

    async def say(self, text: str) -> None:
        await self.runtime.handle(text_message(CONTACT, text))

    async def press(self, payload: str) -> None:
        await self.runtime.handle(choice_message(CONTACT, payload))

    async def when_due(self) -> list[Output]:
        """What the contact gets once the reminder's time (a day before the booking) passed."""
        seen = len(self.sender.to(CONTACT))
        await self.scheduler.advance_to(BOOKED_AT - timedelta(days=1) + timedelta(minutes=1))
        assert await self.scheduler.jobs() == []  # nothing left pending
        return self.sender.to(CONTACT)[seen:]


@pytest.fixture
async def clinic() -> AsyncIterator[Clinic]:
    clock = FrozenClock(START.astimezone(UTC))
    scheduler = ManualScheduler(clock, tenant_id="clinica_sonrisa")
    sender = RecordingSender(capabilities=WHATSAPP_CAPABILITIES)
    config = load_tenant_config(CLINIC)
    async with bootstrap_test_runtime(
        config, clock=clock, scheduler=scheduler, sender=sender
    ) as runtime:
        # The clinic's tenant file has the web chat: its contacts run here as WhatsApp's
        # (`contact.channel`), whose id is their number (the flow asks for no phone).
        runtime.ctx = replace(runtime.ctx, channel="whatsapp", more_channels=())
        calendar = runtime.connectors.get("calendar")
        assert isinstance(calendar, InMemoryCalendar)
        yield Clinic(runtime, scheduler, calendar, sender)


async def book_a_cleaning(clinic: Clinic) -> str:
    """Book through the bot, in Spanish; the appointment's event id."""
    await clinic.say("hola")
    await clinic.press("menu_book")
    await clinic.press("service_cleaning")
    await clinic.say("Ana García")
    await clinic.press("day_2024-05-08")
    await clinic.press("period_morning")
    await clinic.press("hour_2024-05-08_0900")
    await clinic.press("confirm_yes")
    [appointment] = clinic.calendar.appointments
    assert appointment.start == BOOKED_AT
    [job] = await clinic.scheduler.jobs()
    assert job.key == f"reminder:{appointment.event_id}"
    assert job.data["reminder_event_id"] == appointment.event_id
    return appointment.event_id


def staff_edit(calendar: InMemoryCalendar, event_id: str, by: timedelta, **fields: str) -> None:
    """Staff drag the appointment in their calendar app (and may change what it is)."""
    appointment = calendar.memory.bookings[event_id]
    calendar.memory.bookings[event_id] = replace(
        appointment, start=appointment.start + by, end=appointment.end + by, **fields
    )


AS_BOOKED = (
    "Recordatorio: mañana a las 09:00 tiene su cita de limpieza en Clínica Dental Sonrisa. "
    "Escriba 'cancelar' para anularla o 'menú' para cambiarla."
)


async def test_a_moved_appointment_is_reminded_with_a_template_of_its_current_values(
    clinic: Clinic,
) -> None:
    event_id = await book_a_cleaning(clinic)
    staff_edit(clinic.calendar, event_id, timedelta(hours=3, minutes=30), service_key="filling")
    [reminder] = await clinic.when_due()
    assert isinstance(reminder, TemplateMessage)
    assert (reminder.name, reminder.language, reminder.params) == (
        "appointment_reminder_day",
        "es",
        ("Empaste", "mañana", "12:30"),
    )
    assert reminder.fallback_text == (
        "Recordatorio: mañana a las 12:30 tiene su cita de empaste en Clínica Dental Sonrisa. "
        "Escriba 'cancelar' para anularla o 'menú' para cambiarla."
    )


async def test_an_appointment_moved_to_another_day_names_that_day(clinic: Clinic) -> None:
    event_id = await book_a_cleaning(clinic)
    staff_edit(clinic.calendar, event_id, timedelta(days=2))
    [reminder] = await clinic.when_due()
    assert isinstance(reminder, TemplateMessage)
    # The template says the day too: its approved body has no "mañana" of its own.
    assert reminder.params == ("Limpieza", "el Vie 10 may", "09:00")
    assert reminder.fallback_text.startswith("Recordatorio: el Vie 10 may a las 09:00 tiene")


async def test_a_deleted_appointment_gets_nothing(clinic: Clinic) -> None:
    event_id = await book_a_cleaning(clinic)
    del clinic.calendar.memory.bookings[event_id]
    assert await clinic.when_due() == []


async def test_the_calendar_down_sends_the_reminder_as_booked(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id = await book_a_cleaning(clinic)
    staff_edit(clinic.calendar, event_id, timedelta(hours=2))  # the bot cannot know

    async def unreachable(*args: object, **kwargs: object) -> object:
        raise ConnectorUnavailable("the calendar does not answer")

    monkeypatch.setattr(clinic.calendar.memory, "appointments_from", unreachable)
    # Still the approved template (`on_error: {continue: true}`): a plain text would be
    # refused outside WhatsApp's 24-hour window, and the reminder lost.
    [reminder] = await clinic.when_due()
    assert isinstance(reminder, TemplateMessage)
    assert (reminder.name, reminder.language) == ("appointment_reminder_day", "es")
    assert reminder.params == ("Limpieza", "mañana", "09:00")  # as booked
    assert reminder.fallback_text == AS_BOOKED


async def test_an_earlier_versions_job_keeps_its_text_whatever_the_contact_last_chose(
    clinic: Clinic,
) -> None:
    event_id = await book_a_cleaning(clinic)
    # The contact opens "change or cancel" on that appointment: `data.event_id` names it.
    await clinic.press("menu_change")
    await clinic.press(f"appt_{event_id}")
    state = await clinic.runtime.states.load(CONTACT)
    assert state is not None and state.data["event_id"] == event_id
    await clinic.press("back_to_menu")
    # The job as the flow stored it before reminders carried the appointment's id.
    await clinic.scheduler.schedule(
        ScheduleTask(
            task="reminder",
            run_at=BOOKED_AT - timedelta(days=1),
            idempotency_key=f"reminder:{event_id}",
            contact_id=CONTACT,
            data={"lang": "es", "service": "Limpieza", "time": "09:00"},
            run_late_within=timedelta(hours=3),
        )
    )
    # Moved: read by `data.event_id`, the old job would say 11:00.
    staff_edit(clinic.calendar, event_id, timedelta(hours=2))
    [reminder] = await clinic.when_due()
    assert isinstance(reminder, TemplateMessage)
    assert reminder.params == ("Limpieza", "mañana", "09:00")
    assert reminder.fallback_text == AS_BOOKED


async def test_the_calendar_down_names_the_booked_day_when_it_is_not_tomorrow(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id = await book_a_cleaning(clinic)
    [job] = await clinic.scheduler.jobs()
    assert (job.data["booked_date"], job.data["booked_day"]) == ("2024-05-08", "Mié 8 may")

    async def unreachable(*args: object, **kwargs: object) -> object:
        raise ConnectorUnavailable("the calendar does not answer")

    monkeypatch.setattr(clinic.calendar.memory, "appointments_from", unreachable)
    # Due two days ahead of the appointment (a job asked for that day): not "mañana".
    await clinic.scheduler.schedule(
        ScheduleTask(
            task="reminder",
            run_at=BOOKED_AT - timedelta(days=2),
            idempotency_key=f"reminder:{event_id}",
            contact_id=CONTACT,
            data=dict(job.data),
            run_late_within=timedelta(hours=3),
        )
    )
    seen = len(clinic.sender.to(CONTACT))
    await clinic.scheduler.advance_to(BOOKED_AT - timedelta(days=2, minutes=-1))
    [reminder] = clinic.sender.to(CONTACT)[seen:]
    assert isinstance(reminder, TemplateMessage)
    assert reminder.params == ("Limpieza", "el Mié 8 may", "09:00")
    assert reminder.fallback_text.startswith("Recordatorio: el Mié 8 may a las 09:00 tiene")
