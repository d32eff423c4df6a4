"""The demo with its calendar down; the seed's examples (dev tenant, `my_flow_v1`) as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_chat import CALENDAR_DOWN, MENU_TEXT, is_menu, option_ids, texts

from botfleet.adapters.connectors.scripted import OperationScript, ScriptedConnector
from botfleet.domain.tenant_config import TenantConfig, load_tenant_config
from botfleet.testing.runtime import make_tenant_config, running_app

DAYS = [{"id": "day_2024-05-06", "title": "Mon 6 May"}]
SLOTS = [{"id": "hour_2024-05-06_1000", "title": "10:00"}]

# Not imported from conftest: which `conftest` module that name means depends on the run.
REPO = Path(__file__).resolve().parents[2]


def broken_calendar(**scripts: OperationScript) -> ScriptedConnector:
    """A calendar whose operations all fail as `unavailable`, unless scripted otherwise."""
    down = OperationScript(
        fail_always=True, error="unavailable", error_message="connection refused"
    )
    names = [
        "get_available_days",
        "get_slots_for_day",
        "book_appointment",
        "get_future_appointments",
        "list_appointments",
        "cancel_event",
    ]
    return ScriptedConnector({n: scripts.get(n, down) for n in names}, category="calendar")


async def test_calendar_down_when_listing_days_says_so_and_shows_the_menu(
    demo_config: TenantConfig, tmp_path: Path
) -> None:
    calendar = broken_calendar()
    async with running_app(
        demo_config, state_db=tmp_path / "s.db", connectors={"calendar": calendar}
    ) as chat:
        await chat.say("c1", "hi")
        await chat.press("c1", "menu_book")
        replies = await chat.press("c1", "service_haircut", kind="list_reply")
        assert texts(replies) == [CALENDAR_DOWN, MENU_TEXT]
        # (the resilience policy may retry: every call is the same listing)
        assert {c.operation for c in calendar.calls} == {"get_available_days"}
        # the conversation carries on normally afterwards
        assert texts(await chat.press("c1", "menu_book")) == ["Which service would you like?"]


async def test_calendar_down_when_booking_books_nothing_and_says_so(
    demo_config: TenantConfig, tmp_path: Path
) -> None:
    calendar = broken_calendar(
        get_available_days=OperationScript(result=DAYS),
        get_slots_for_day=OperationScript(result=SLOTS),
    )
    async with running_app(
        demo_config, state_db=tmp_path / "s.db", connectors={"calendar": calendar}
    ) as chat:
        await chat.say("c1", "hi")
        await chat.press("c1", "menu_book")
        await chat.press("c1", "service_haircut", kind="list_reply")
        await chat.say("c1", "1")
        await chat.say("c1", "1")
        replies = await chat.press("c1", "confirm_yes")
        assert replies[0]["text"] == (
            "I couldn't reach our calendar to confirm the booking. Please check "
            '"My appointments" in a few minutes before trying again.'
        )
        assert is_menu(replies)
        booking = calendar.calls_to("book_appointment")
        # Retries, if the policy makes any, repeat the one booking under the same key.
        assert len({c.idempotency_key for c in booking}) == 1
        assert booking[0].params["slot"] == "2024-05-06_1000"


async def test_calendar_down_when_viewing_goes_back_to_the_menu(
    demo_config: TenantConfig, tmp_path: Path
) -> None:
    calendar = broken_calendar()
    async with running_app(
        demo_config, state_db=tmp_path / "s.db", connectors={"calendar": calendar}
    ) as chat:
        await chat.say("c1", "hi")
        replies = await chat.press("c1", "menu_view")
        assert texts(replies) == [MENU_TEXT]
        assert {c.operation for c in calendar.calls} == {"list_appointments"}


async def test_the_seed_dev_tenant_loads_and_books(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The seed's file names its flow relative to the working directory (the repository).
    monkeypatch.chdir(REPO)
    config = load_tenant_config(REPO / "tests" / "configs" / "dev_tenant.yaml")
    assert config.channel.type == "http_dev"
    async with running_app(config, state_db=tmp_path / "dev.db") as chat:
        health = (await chat.http.get("/health")).json()
        assert (health["tenant_id"], health["flow_id"]) == ("my_business", "hairdresser_demo_v1")
        first = await chat.say("c1", "hola")
        assert option_ids(first[0]) == ["menu_book", "menu_view", "menu_cancel"]
        assert first[0]["text"].startswith("Hi! Welcome to my_business.")
        await chat.say("c1", "1")
        await chat.say("c1", "1")
        await chat.say("c1", "1")
        await chat.say("c1", "1")
        booked = await chat.say("c1", "1")
        assert texts(booked)[0] == "✅ Booked: Haircut on Mon 6 May at 10:00. See you then!"


async def test_the_seed_my_flow_v1_example_runs(tmp_path: Path) -> None:
    config = make_tenant_config(
        REPO / "tests" / "fixtures" / "flows" / "seed_my_flow_v1_complete.yaml",
        connectors={"calendar": {"type": "mock"}},
    )
    async with running_app(config, state_db=tmp_path / "seed.db") as chat:
        menu = await chat.say("c1", "hi")
        assert texts(menu) == ["Hi! What would you like to do?"]
        assert option_ids(menu[0]) == ["menu_book", "menu_cancel"]

        days = await chat.press("c1", "menu_book")
        assert days[0]["text"] == "Which day works for you?"
        assert option_ids(days[0])[0] == "day_2024-05-06"

        chosen = await chat.say("c1", "Tue 7 May")
        assert texts(chosen) == [
            "You chose 2024-05-07. We will confirm your booking shortly.",
            "Hi! What would you like to do?",
        ]
        cancel = await chat.press("c1", "menu_cancel")
        assert texts(cancel)[0] == "To cancel an appointment, please call us."
        assert texts(await chat.press("c1", "back_to_menu")) == ["Hi! What would you like to do?"]
