"""The demo's "day before" reminder when the clocks change in between: it is sent the day before
at the appointment's wall time (what a salon's client expects to read "tomorrow at 10:00" at),
so it comes 23 real hours ahead in spring and 25 in autumn, not 24.

The demo salon is closed on Sundays, and Europe changes its clocks early on a Sunday, so its
own reminders never straddle a change; this copy of it opens on Sundays.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botfleet.domain.tenant_config import load_tenant_config
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient, make_settings, running_app
from botfleet.testing.scheduling import ManualScheduler

DEMO = Path(__file__).parents[3] / "examples" / "tenants" / "demo.yaml"
MADRID = ZoneInfo("Europe/Madrid")
CONTACT = "+34600111222"


def open_on_sundays(folder: Path) -> Path:
    text = DEMO.read_text(encoding="utf-8")
    saturday = '      sat: ["10:00-14:00"]\n'
    assert saturday in text
    text = text.replace(saturday, saturday + '      sun: ["10:00-14:00"]\n')
    for key in ("flow_path", "knowledge_path"):
        line = next(li for li in text.splitlines() if li.startswith(f"{key}:"))
        relative = line.split(":", 1)[1].strip()
        text = text.replace(line, f"{key}: {(DEMO.parent / relative).resolve()}")
    path = folder / "sunday_salon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def salon(tmp_path: Path) -> AsyncIterator[tuple[ChatClient, ManualScheduler, FrozenClock]]:
    clock = FrozenClock(datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    scheduler = ManualScheduler(clock, tenant_id="demo")
    config = load_tenant_config(open_on_sundays(tmp_path))
    async with running_app(
        config, settings=make_settings(), clock=clock, scheduler=scheduler
    ) as chat:
        yield chat, scheduler, clock


def ids(replies: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for reply in replies:
        found += [b["id"] for b in reply.get("buttons", [])]
        for section in reply.get("sections", []):
            found += [r["id"] for r in section["rows"]]
    return found


async def book_sunday_ten(chat: ChatClient, day: str) -> None:
    await chat.press(CONTACT, "menu_book")
    days = ids(await chat.press(CONTACT, "service_haircut", kind="list_reply"))
    assert f"day_{day}" in days
    slots = ids(await chat.press(CONTACT, f"day_{day}", kind="list_reply"))
    assert slots[0] == f"hour_{day}_1000"
    await chat.press(CONTACT, slots[0], kind="list_reply")
    await chat.press(CONTACT, "confirm_yes")


@pytest.mark.parametrize(
    ("now", "day", "reminder_wall", "ahead"),
    [
        # Sunday 31 March, 10:00 summer time: reminded on Saturday at 10:00 winter time.
        (datetime(2024, 3, 29, 9, 0), "2024-03-31", datetime(2024, 3, 30, 10, 0), 23),
        # Sunday 27 October, 10:00 winter time: reminded on Saturday at 10:00 summer time.
        (datetime(2024, 10, 25, 9, 0), "2024-10-27", datetime(2024, 10, 26, 10, 0), 25),
    ],
)
async def test_the_reminder_comes_the_day_before_at_the_appointments_wall_time(
    salon: tuple[ChatClient, ManualScheduler, FrozenClock],
    now: datetime,
    day: str,
    reminder_wall: datetime,
    ahead: int,
) -> None:
    chat, scheduler, clock = salon
    clock.set(now.replace(tzinfo=MADRID))
    await book_sunday_ten(chat, day)
    response = await chat.http.get("/tasks", params={"contact_id": CONTACT, "task": "reminder"})
    [job] = response.json()["tasks"]
    due = datetime.fromisoformat(job["next_run_at"])
    assert due.astimezone(MADRID).replace(tzinfo=None) == reminder_wall
    appointment = datetime.fromisoformat(f"{day}T10:00").replace(tzinfo=MADRID)
    assert appointment.astimezone(UTC) - due.astimezone(UTC) == timedelta(hours=ahead)

    seen = len(await chat.messages(CONTACT))
    runs = await scheduler.advance_to(due.astimezone(UTC) + timedelta(minutes=1))
    assert [r.due_at for r in runs] == [due.astimezone(UTC)]
    new = [m["output"]["text"] for m in (await chat.messages(CONTACT))[seen:]]
    assert new == [
        "Reminder: your Haircut appointment is tomorrow at 10:00. Reply 'menu' to manage it."
    ]
