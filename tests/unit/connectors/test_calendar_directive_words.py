"""``[CFG]`` directives in every language the calendar writes, and the ones it does not know.

Found by a walk-through: a business in Lisbon closed a day with an all-day ``[CFG] FECHADO``
and another with ``[CFG] CLOSED``; both days were still offered and nothing was logged, since
only the Spanish ``CERRADO`` and ``VACACIONES...`` closed a day (docs/connectors.md, "Schedule
directives (`[CFG]`)").
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog

from botfleet.adapters.connectors.calendar import InMemoryCalendar, build, slots
from botfleet.adapters.connectors.calendar.texts import LANGUAGES
from botfleet.domain.calendar import BusyEvent

LISBON = ZoneInfo("Europe/Lisbon")
MONDAY, TUESDAY = "2024-01-08", "2024-01-09"
OPEN_MONDAY = ["10:00", "10:30", "11:00", "11:30"]


class StoppedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def make(*events: dict[str, Any]) -> InMemoryCalendar:
    raw = {"type": "mock_calendar", "schedule": {"mon": ["10:00-12:00"]}, "busy": list(events)}
    clock = StoppedClock(datetime(2024, 1, 5, 12, 0, tzinfo=LISBON))  # Friday before
    return build(raw, timezone="Europe/Lisbon", clock=clock)


def all_day(title: str, day: str = MONDAY) -> dict[str, Any]:
    return {"day": day, "title": title}


async def monday_slots(cal: InMemoryCalendar) -> list[str]:
    params = {"date_str": MONDAY}
    items = await cal.call("get_slots_for_day", params, idempotency_key="k")
    return [item["title"] for item in items]


def unknown_warnings(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == "calendar_directive_unknown"]


# ---------------------------------------------------------------- closing words


@pytest.mark.parametrize(
    "title",
    [
        "[CFG] CERRADO",
        "[CFG] VACACIONES de verano",
        "[CFG] CLOSED",
        "[CFG] Holiday",
        "[CFG] HOLIDAYS in the Algarve",
        "[CFG] FECHADO",
        "[cfg] fechado",
        "[CFG] FÉRIAS",
        "[CFG] Ferias de agosto",  # without the accent, as a phone keyboard may leave it
        "[CFG] TANCAT",
        "[CFG] Vacances d'estiu",
        "[CFG] FERMÉ",
        "[CFG] ferme",
        "[CFG] GESCHLOSSEN",
        "[CFG] Urlaub",
        "[CFG] CHIUSO",
        "[CFG] Ferie estive",
        "  [CFG]   Fechado  ",
    ],
)
async def test_a_closing_directive_in_any_language_closes_the_day(title: str) -> None:
    cal = make(all_day(title))
    with structlog.testing.capture_logs() as logs:
        assert await monday_slots(cal) == []
    assert unknown_warnings(logs) == []


def test_every_language_the_calendar_writes_has_its_closing_words() -> None:
    # A language added to the calendar's texts must say how its businesses close a day.
    assert set(slots.CLOSING_DIRECTIVES) == set(LANGUAGES)
    for words, prefixes in slots.CLOSING_DIRECTIVES.values():
        assert words and prefixes


@pytest.mark.parametrize("title", ["[CFG] CERRADO por obras", "[CFG] CLOSED for works"])
async def test_a_closed_word_must_be_the_whole_directive_as_cerrado_always_had(
    title: str,
) -> None:
    cal = make(all_day(title))
    assert await monday_slots(cal) == OPEN_MONDAY


async def test_horario_still_sets_the_hours_and_closing_still_wins_over_it() -> None:
    cal = make(all_day("[CFG] HORARIO 11:00-12:00"))
    assert await monday_slots(cal) == ["11:00", "11:30"]
    both = make(all_day("[CFG] HORARIO 11:00-12:00"), all_day("[CFG] Fechado"))
    assert await monday_slots(both) == []


# ---------------------------------------------------------------- directives it does not know


async def test_an_unknown_all_day_directive_keeps_the_day_open_and_is_logged_once() -> None:
    cal = make(all_day("[CFG] FECHADA"), all_day("[CFG] FECHADA", TUESDAY))
    with structlog.testing.capture_logs() as logs:
        assert await monday_slots(cal) == OPEN_MONDAY  # as before: the weekly hours stay
        assert await monday_slots(cal) == OPEN_MONDAY
        await cal.call("get_available_days", {"lookahead_days": 7}, idempotency_key="d")
    warned = unknown_warnings(logs)
    assert len(warned) == 1, warned
    # Only the directive: never the event's day, id or anything else of it.
    assert warned[0] == {
        "event": "calendar_directive_unknown",
        "log_level": "warning",
        "directive": "FECHADA",
        "hint": slots.UNKNOWN_DIRECTIVE_HINT,
    }


async def test_an_unknown_timed_directive_still_blocks_its_time_and_is_logged() -> None:
    cal = make(
        {"start": f"{MONDAY}T10:00", "end": f"{MONDAY}T11:00", "title": "[CFG] reunião equipa"}
    )
    with structlog.testing.capture_logs() as logs:
        assert await monday_slots(cal) == ["11:00", "11:30"]
    assert [e["directive"] for e in unknown_warnings(logs)] == ["reunião equipa"]


async def test_each_distinct_directive_is_logged_once_per_connector_instance() -> None:
    events = (all_day("[CFG] FERMADO"), all_day("[CFG] abierto"), all_day("[CFG] FERMADO"))
    first, second = make(*events), make(*events)
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            await monday_slots(first)
        first.add_event(BusyEvent(*_monday_hour(11), title="[CFG] abierto"))
        await monday_slots(first)
        await monday_slots(second)  # another binding, or the same one after a restart
    directives = [e["directive"] for e in unknown_warnings(logs)]
    assert sorted(directives) == ["FERMADO", "FERMADO", "abierto", "abierto"]


async def test_the_directive_logged_is_cut_to_40_characters() -> None:
    long = "reunião com o contabilista sobre o IVA do trimestre"
    cal = make(all_day(f"[CFG]   {long}  "))
    with structlog.testing.capture_logs() as logs:
        await monday_slots(cal)
    assert [e["directive"] for e in unknown_warnings(logs)] == [long[:40]]


async def test_known_directives_and_ordinary_titles_log_nothing() -> None:
    cal = make(
        all_day("[CFG] HORARIO 10:00-11:00"),
        all_day("[CFG] HORARIO 25:00-26:00", TUESDAY),  # unreadable hours: as before, ignored
        all_day("Dr. Ruiz on holiday"),
        {"start": f"{MONDAY}T10:00", "end": f"{MONDAY}T10:30", "title": "dentist [room 2]"},
    )
    with structlog.testing.capture_logs() as logs:
        assert await monday_slots(cal) == ["10:30"]
    assert unknown_warnings(logs) == []


def _monday_hour(hour: int) -> tuple[datetime, datetime]:
    start = datetime(2024, 1, 8, hour, 0, tzinfo=LISBON)
    return start, start + timedelta(minutes=30)


def test_the_docs_list_every_closing_word() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "connectors.md").read_text("utf-8")
    table = docs.split("### Schedule directives (`[CFG]`)")[1].split("\n### ")[0]
    shown = {slots._folded(word) for word in re.findall(r"`([^`]+)`", table)}
    for words, prefixes in slots.CLOSING_DIRECTIVES.values():
        assert set(words) | set(prefixes) <= shown
