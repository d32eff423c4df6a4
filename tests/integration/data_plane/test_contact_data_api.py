"""`GET` and `DELETE /contacts/{contact_id}`: a contact's data exported, then erased, through
the running data plane (SQLite store, scheduler), and nothing of another contact touched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from botfleet.contact_hash import hash_contact
from botfleet.flows.effects import ScheduleTask
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import (
    ChatClient,
    RecordingSender,
    make_settings,
    make_tenant_config,
    running_app,
    text_message,
)
from botfleet.testing.scheduling import ManualScheduler

TOKEN = "contact-data-internal-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
FLOW: dict[str, Any] = {
    "id": "names",
    "initial_state": "ASK",
    "tasks": {"ping": [{"action": "send_text", "text": "Reminder for {{ data.name }}"}]},
    "states": {
        "ASK": {
            "on_enter": [{"action": "send_text", "text": "Your name?"}],
            "transitions": [{"set_data": {"name": "{{ message.text }}"}, "target": "KNOWN"}],
        },
        "KNOWN": {
            "on_enter": [{"action": "send_text", "text": "Hello {{ data.name }}"}],
            "fallback": "KNOWN",
        },
    },
}


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[ChatClient]:
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="test")
    settings = make_settings(tmp_path / "state.db", internal_token=TOKEN)
    async with running_app(flow=FLOW, settings=settings, clock=clock, scheduler=scheduler) as app:
        yield app


async def introduce(chat: ChatClient, contact: str, name: str) -> None:
    await chat.say(contact, name)  # a new contact's first message is its answer to ASK
    await chat.say(contact, "thanks")
    scheduler = chat.runtime.scheduler
    assert scheduler is not None
    at = NOW + timedelta(days=1)
    await scheduler.schedule(ScheduleTask("ping", at, f"reminder:{contact}", contact, {"n": name}))


async def export(chat: ChatClient, contact: str) -> dict[str, Any]:
    response = await chat.http.get(f"/contacts/{contact}", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


async def test_export_lists_everything_held_about_the_contact(chat: ChatClient) -> None:
    await introduce(chat, "ana", "Ana García")
    await introduce(chat, "bob", "Bob")

    found = await export(chat, "ana")

    assert found["contact_id"] == "ana"
    assert found["conversation"]["node"] == "KNOWN"
    assert found["conversation"]["data"]["name"] == "Ana García"
    assert [m["message"]["text"] for m in found["messages_received"]] == ["Ana García", "thanks"]
    assert all(m["status"] == "done" for m in found["messages_received"])
    sent = [m["output"]["text"] for m in found["messages_sent"]]
    assert "Hello Ana García" in sent
    replies = [r["text"] for m in found["messages_received"] for r in m["replies"]]
    assert replies == sent
    assert [t["key"] for t in found["scheduled_tasks"]] == ["reminder:ana"]
    assert found["truncated"] is False
    assert "Bob" not in str(found)


async def test_erasure_removes_the_contact_and_only_the_contact(chat: ChatClient) -> None:
    await introduce(chat, "ana", "Ana García")
    await introduce(chat, "bob", "Bob")
    bob_before = await export(chat, "bob")
    ana_sent = len((await export(chat, "ana"))["messages_sent"])
    assert ana_sent >= 2

    response = await chat.http.delete("/contacts/ana", headers=AUTH)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "contact_id": "ana",
        "contact_hash": hash_contact("test", "ana"),  # as the data plane's log lines say
        "stored_as": None,
        "conversation": True,
        "messages_received": 2,
        "messages_sent": ana_sent,
        "scheduled_tasks": 1,
        "kept_notifications": 0,
        "appointments_left": 0,
    }
    after = await export(chat, "ana")
    assert after["conversation"] is None
    assert after["messages_received"] == after["messages_sent"] == after["scheduled_tasks"] == []
    assert "Ana" not in str(after)
    assert await export(chat, "bob") == bob_before
    listed = await chat.http.get("/tasks", headers=AUTH)
    assert [t["contact_id"] for t in listed.json()["tasks"]] == ["bob"]
    # Erasing again finds nothing more.
    again = await chat.http.delete("/contacts/ana", headers=AUTH)
    assert again.json()["conversation"] is False
    assert again.json()["messages_received"] == 0


WHATSAPP = {
    "type": "whatsapp",
    "phone_number_id": "106540352242922",
    "access_token": "EAAG-token",
    "app_secret": "app-secret",
    "verify_token": "verify",
}


@pytest.fixture
async def whatsapp(tmp_path: Path) -> AsyncIterator[ChatClient]:
    """A WhatsApp tenant's data plane; contacts talk through the runtime (no Graph API)."""
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="test")
    settings = make_settings(tmp_path / "state.db", internal_token=TOKEN)
    config = make_tenant_config(FLOW, channel=WHATSAPP)
    async with running_app(
        config, settings=settings, clock=clock, scheduler=scheduler, sender=RecordingSender()
    ) as app:
        yield app


async def introduce_on_whatsapp(chat: ChatClient, contact: str, name: str) -> None:
    for text in (name, "thanks"):
        await chat.runtime.handle(text_message(contact, text))
    scheduler = chat.runtime.scheduler
    assert scheduler is not None
    at = NOW + timedelta(days=1)
    await scheduler.schedule(ScheduleTask("ping", at, f"reminder:{contact}", contact, {"n": name}))


@pytest.mark.parametrize(
    "written", ["+49 151 1222 3334", "+4915112223334", "0049-151-12223334", "(+49) 151 12223334"]
)
async def test_a_number_as_people_write_it_finds_the_whatsapp_contact(
    whatsapp: ChatClient, written: str
) -> None:
    """WhatsApp stores the digits (`4915112223334`): the number as a practice writes it found
    nothing, and the erasure's zeros read like success."""
    chat = whatsapp
    await introduce_on_whatsapp(chat, "4915112223334", "Grete Groß")
    await introduce_on_whatsapp(chat, "4915100000000", "Other")
    found = await export(chat, written)
    assert (found["contact_id"], found["stored_as"]) == (written, "4915112223334")
    assert found["conversation"]["data"]["name"] == "Grete Groß"
    response = await chat.http.delete(f"/contacts/{written}", headers=AUTH)
    erased = response.json()
    assert (erased["contact_id"], erased["stored_as"]) == (written, "4915112223334")
    assert erased["contact_hash"] == hash_contact("test", "4915112223334")
    assert erased["conversation"] is True and erased["scheduled_tasks"] == 1
    again = (await chat.http.delete(f"/contacts/{written}", headers=AUTH)).json()
    assert again["contact_hash"] == erased["contact_hash"]  # the same person, erased before
    assert again["conversation"] is False
    assert (await export(chat, "4915112223334"))["conversation"] is None
    assert (await export(chat, "4915100000000"))["conversation"] is not None


async def test_a_number_is_taken_as_given_when_something_is_stored_under_it(
    whatsapp: ChatClient,
) -> None:
    await introduce_on_whatsapp(whatsapp, "+34600111222", "As given")
    await introduce_on_whatsapp(whatsapp, "34600111222", "Digits")
    found = await export(whatsapp, "+34600111222")
    assert (found["stored_as"], found["conversation"]["data"]["name"]) == (None, "As given")
    # Nothing under either: named by its digits still, as its hash in the audit and logs is
    nothing = await export(whatsapp, "+34699999999")
    assert (nothing["stored_as"], nothing["conversation"]) == ("34699999999", None)
    assert nothing["contact_hash"] == hash_contact("test", "34699999999")


async def test_on_a_channel_whose_ids_are_not_numbers_a_number_is_never_read_as_one(
    chat: ChatClient,
) -> None:
    """A web chat page (or a Telegram chat) of the same digits is someone else: erasing
    "+354 555 1234" must not erase the contact "3545551234" of another channel."""
    await introduce(chat, "3545551234", "Not this one")
    response = await chat.http.delete("/contacts/+354 555 1234", headers=AUTH)
    assert response.json()["stored_as"] is None
    assert response.json()["conversation"] is False
    assert (await export(chat, "3545551234"))["conversation"] is not None


async def test_the_contact_writing_again_starts_a_new_conversation(chat: ChatClient) -> None:
    await introduce(chat, "ana", "Ana")
    await chat.say("ana", "still here")  # the state is cached now
    await chat.http.delete("/contacts/ana", headers=AUTH)

    await chat.say("ana", "hello")

    found = await export(chat, "ana")
    assert found["conversation"]["data"]["name"] == "hello"  # ASK again, not KNOWN
    assert [m["message"]["text"] for m in found["messages_received"]] == ["hello"]


async def test_a_redelivered_message_is_still_not_answered_again(chat: ChatClient) -> None:
    first = await chat.post({"contact_id": "ana", "text": "hi", "message_id": "m-1"})
    assert not first["duplicate"]
    await chat.http.delete("/contacts/ana", headers=AUTH)

    again = await chat.post({"contact_id": "ana", "text": "hi", "message_id": "m-1"})

    assert again["duplicate"] is True
    assert again["replies"] == []
    assert (await export(chat, "ana"))["conversation"] is None


async def test_erasure_waits_for_the_turns_already_queued(chat: ChatClient) -> None:
    """Messages accepted before the erasure run first, so none of them survives it."""
    for n in range(5):
        await chat.post({"contact_id": "ana", "text": f"message {n}"}, wait=False)

    response = await chat.http.delete("/contacts/ana", headers=AUTH)

    assert response.json()["messages_received"] == 5
    await asyncio.sleep(0)
    found = await export(chat, "ana")
    assert found["conversation"] is None
    assert found["messages_received"] == found["messages_sent"] == []


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_only_with_the_internal_token(chat: ChatClient, method: str) -> None:
    await introduce(chat, "ana", "Ana")
    missing = await chat.http.request(method, "/contacts/ana")
    wrong = await chat.http.request(method, "/contacts/ana", headers={"Authorization": "Bearer x"})
    assert (missing.status_code, wrong.status_code) == (401, 403)
    assert "Ana" not in missing.text + wrong.text
    assert (await export(chat, "ana"))["conversation"] is not None


async def test_refused_without_a_configured_token(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "state.db")
    async with running_app(flow=FLOW, settings=settings) as chat:
        response = await chat.http.delete("/contacts/ana")
        assert response.status_code == 403
        assert "DP_INTERNAL_TOKEN" in response.json()["detail"]


async def test_contact_ids_with_every_character_channels_use(chat: ChatClient) -> None:
    contact = "-100123:topic:7+ana.b@x_1"  # a Telegram topic's form, web chat's characters
    await chat.say(contact, "hi")
    found = await chat.http.get("/contacts/-100123%3Atopic%3A7%2Bana.b%40x_1", headers=AUTH)
    assert found.status_code == 200, found.text
    assert found.json()["contact_id"] == contact
    assert found.json()["conversation"] is not None
    too_long = await chat.http.get("/contacts/" + "x" * 192, headers=AUTH)
    assert too_long.status_code == 422


async def test_conversations_lists_who_talked_and_when_newest_first(chat: ChatClient) -> None:
    clock = chat.runtime.clock
    assert isinstance(clock, FrozenClock)
    await introduce(chat, "ana", "Ana")
    clock.advance(timedelta(minutes=5))
    await introduce(chat, "bob", "Bob")

    listed = await chat.http.get("/conversations", headers=AUTH)

    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [c["contact_id"] for c in body["conversations"]] == ["bob", "ana"]
    assert (body["count"], body["truncated"]) == (2, False)
    first = body["conversations"][0]
    assert first["state"] == "KNOWN"
    assert first["contact_hash"] == hash_contact("test", "bob")
    assert first["updated_at"] == first["last_message_at"] == "2024-05-06T07:05:00Z"
    assert "Bob" not in listed.text  # who and when, never what
    one = await chat.http.get("/conversations", params={"limit": 1}, headers=AUTH)
    assert [c["contact_id"] for c in one.json()["conversations"]] == ["bob"]
    assert one.json()["truncated"] is True
    recent = await chat.http.get(
        "/conversations", params={"active_since": "2024-05-06T09:03:00+02:00"}, headers=AUTH
    )
    assert [c["contact_id"] for c in recent.json()["conversations"]] == ["bob"]
    naive = await chat.http.get(
        "/conversations", params={"active_since": "2024-05-06T09:03:00"}, headers=AUTH
    )
    assert naive.status_code == 422
    assert "UTC offset" in naive.text
    assert (await chat.http.get("/conversations")).status_code == 401


async def test_conversations_page_by_page_through_many_of_one_time(chat: ChatClient) -> None:
    """The clock stands still: seven contacts write at one time, the page boundaries fall
    among them, and following `next` lists each once, in the order of one long page."""
    clock = chat.runtime.clock
    assert isinstance(clock, FrozenClock)
    await chat.say("first", "Ana")
    clock.advance(timedelta(minutes=1))
    for n in range(7):
        await chat.say(f"c{(n * 3) % 7}", "Bob")
    clock.advance(timedelta(minutes=1))
    await chat.say("last", "Cy")

    listed: list[list[str]] = []
    cursors: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        page = await chat.http.get("/conversations", params=params, headers=AUTH)
        assert page.status_code == 200, page.text
        body = page.json()
        listed.append([c["contact_id"] for c in body["conversations"]])
        assert len(listed) <= 9, "the pages do not end"
        assert body["truncated"] is (body["next"] is not None)
        if body["next"] is None:
            break
        params["before"] = body["next"]
        cursors.append(body["next"])

    whole = await chat.http.get("/conversations", headers=AUTH)
    assert whole.json()["next"] is None
    assert [c for page in listed for c in page] == [
        c["contact_id"] for c in whole.json()["conversations"]
    ]
    assert listed == [["last", "c6", "c5"], ["c4", "c3", "c2"], ["c1", "c0", "first"]]
    # With `active_since`, the same cursor pages through those since then only.
    since = {"active_since": "2024-05-06T07:01:00Z", "before": cursors[0], "limit": 3}
    rest = await chat.http.get("/conversations", params=since, headers=AUTH)
    assert [c["contact_id"] for c in rest.json()["conversations"]] == ["c4", "c3", "c2"]
    assert rest.json()["truncated"] is True
    since["limit"] = 10
    rest = await chat.http.get("/conversations", params=since, headers=AUTH)
    assert [c["contact_id"] for c in rest.json()["conversations"]] == ["c4", "c3", "c2", "c1", "c0"]
    assert (rest.json()["truncated"], rest.json()["next"]) == (False, None)


@pytest.mark.parametrize(
    "before",
    [
        "not a cursor",
        "WyJ0YXNrcyIsMV0",  # ["tasks",1]: another list's
        "WyJjb252ZXJzYXRpb25zIiwiMjAyNC0wNS0wNlQwNzowMDowMCIsImEiXQ",  # a time with no offset
        "x" * 2049,
    ],
)
async def test_a_bad_cursor_is_a_422_naming_before(chat: ChatClient, before: str) -> None:
    refused = await chat.http.get("/conversations", params={"before": before}, headers=AUTH)
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    named = detail if isinstance(detail, str) else ".".join(map(str, detail[0]["loc"]))
    assert named.startswith(("before: not a cursor of this list", "query.before"))


BOOKING_FLOW: dict[str, Any] = {
    "id": "books",
    "initial_state": "BOOK",
    "states": {
        "BOOK": {
            "on_enter": [],
            "transitions": [{"target": "BOOKED"}],
        },
        "BOOKED": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "calendar",
                    "operation": "book_appointment",
                    "params": {
                        "slot": "2024-05-07_1000",
                        "contact_id": "{{ contact.id }}",
                        "contact_name": "Ana",
                        "service_name": "Haircut",
                    },
                    "result_key": "booking",
                },
                {"action": "send_text", "text": "{{ data.booking.message }}"},
            ],
            "fallback": "BOOKED",
        },
    },
}
CALENDAR = {
    "type": "mock_calendar",
    "schedule": {"tue": ["10:00-14:00"]},
    "slot_duration_min": 30,
}


async def test_the_export_lists_the_contacts_appointments_in_each_calendar(tmp_path: Path) -> None:
    from botfleet.testing.runtime import make_tenant_config

    config = make_tenant_config(
        BOOKING_FLOW,
        connectors={"calendar": CALENDAR, "calendar.downtown": CALENDAR},
    )
    clock = FrozenClock(NOW)
    settings = make_settings(tmp_path / "state.db", internal_token=TOKEN)
    async with running_app(config, settings=settings, clock=clock) as chat:
        assert "Booked" in (await chat.say("ana", "book me"))[0]["text"]
        found = await export(chat, "ana")
        erased = await chat.http.delete("/contacts/ana", headers=AUTH)
        kept = await export(chat, "ana")

    by_connector = {a["connector"]: a for a in found["appointments"]}
    assert sorted(by_connector) == ["calendar", "calendar.downtown"]
    [appointment] = by_connector["calendar"]["appointments"]
    assert (appointment["date"], appointment["time"], appointment["service_name"]) == (
        "2024-05-07",
        "10:00",
        "Haircut",
    )
    assert by_connector["calendar.downtown"] == {
        "connector": "calendar.downtown",
        "appointments": [],
        "error": None,
    }
    # An erasure leaves the calendar's appointments: the business keeps its bookings, and the
    # answer says so (it read like a complete erasure: a data-protection review).
    assert erased.status_code == 200
    assert erased.json()["appointments_left"] == 1
    assert [len(a["appointments"]) for a in kept["appointments"]] == [1, 0]


async def test_a_reminder_due_while_the_erasure_waits_is_not_sent(chat: ChatClient) -> None:
    """The reminder fell due while the erasure waited for a turn of the contact under way: it
    had left the stored jobs, so cancelling them missed it; it is skipped when its turn comes."""
    import asyncio

    scheduler = chat.runtime.scheduler
    assert isinstance(scheduler, ManualScheduler)
    await chat.say("ana", "Ana García")
    await scheduler.schedule(
        ScheduleTask("ping", NOW + timedelta(minutes=1), "reminder:ana", "ana", {"n": "Ana"})
    )
    gate = asyncio.Event()
    busy = chat.runtime.after_turns("ana", gate.wait)  # a turn under way (an LLM call...)
    erasing = asyncio.ensure_future(chat.http.delete("/contacts/ana", headers=AUTH))
    await asyncio.sleep(0.05)
    due = asyncio.ensure_future(scheduler.advance(minutes=2))  # handed over, queued behind
    await asyncio.sleep(0.05)
    gate.set()
    await busy
    erased = (await erasing).json()
    await due

    after = await export(chat, "ana")
    assert erased["conversation"] is True
    assert after["conversation"] is None
    assert after["messages_sent"] == []
    assert "Ana" not in str(after)


async def test_a_busy_store_is_a_503_whose_log_line_names_the_route_not_the_contact(
    chat: ChatClient,
) -> None:
    from botfleet.domain.errors import StoreUnavailable

    async def busy(contact_id: str) -> object:
        raise StoreUnavailable("state.db: cannot erase a contact: locked", cause="locked")

    records = chat.runtime.records
    assert records is not None
    records.erase = busy  # type: ignore[method-assign]
    with structlog.testing.capture_logs() as logs:
        answer = await chat.http.delete("/contacts/34600111222", headers=AUTH)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    [line] = [e for e in logs if e["event"] == "store_unavailable"]
    assert line["path"] == "/contacts/{contact_id:path}"
    assert "600111" not in str(logs)


async def test_an_export_leaves_a_log_line_naming_the_contact_by_its_hash(
    chat: ChatClient,
) -> None:
    # A read straight from the data plane (its internal token) is not the control plane's to
    # audit: the data plane's own line says who was read, never the data.
    from structlog.testing import capture_logs

    await introduce(chat, "ana", "Ana García")
    with capture_logs() as logs:
        await export(chat, "ana")
    (line,) = [entry for entry in logs if entry["event"] == "contact_exported"]
    assert line["contact"] == hash_contact("test", "ana")
    assert line["messages_received"] >= 1
    assert "ana" not in str(line) and "García" not in str(line)
