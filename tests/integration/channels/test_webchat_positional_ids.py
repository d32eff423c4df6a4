"""Web chat: option ids the page could not send back (over `MAX_PAYLOAD` characters) are sent
by position with their menu's fingerprint, as on WhatsApp and Telegram, through the real data
plane (with its `POST /inbound` fast path and without)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from channel_harness import DataPlane, FakeProvider, channel_app

from botfleet.adapters import registry
from botfleet.adapters.channels.webchat.schemas import MAX_PAYLOAD
from botfleet.domain.outputs import Option, options_fingerprint

#: An id the page could not send back as a `payload` (a 422 before ids were sent by position).
HUGE = "_" + "x" * MAX_PAYLOAD
BOOK, CANCEL = f"menu_book{HUGE}", f"menu_cancel{HUGE}"
TEN, ELEVEN = f"slot_10{HUGE}", "slot_11"  # one id fits: it is sent as it is

FLOW: dict[str, Any] = {
    "id": "webchat_long_ids_v1",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "What would you like to do?",
                    "buttons": [{"id": BOOK, "title": "Book"}, {"id": CANCEL, "title": "Cancel"}],
                }
            ],
            "transitions": [
                {"on_payload": BOOK, "target": "SLOTS"},
                {"on_payload": CANCEL, "target": "CANCELLED"},
            ],
            "fallback": "MENU",
        },
        "SLOTS": {
            "on_enter": [
                {
                    "action": "send_interactive_list",
                    "body": "Pick a time",
                    "button_label": "Times",
                    "sections": [
                        {"title": "Morning", "rows": [{"id": TEN, "title": "10:00"}]},
                        {"title": "Later", "rows": [{"id": ELEVEN, "title": "11:00"}]},
                    ],
                }
            ],
            "transitions": [
                {"on_payload": TEN, "target": "BOOKED_10"},
                {"on_payload": ELEVEN, "target": "BOOKED_11"},
            ],
            "fallback": "SLOTS",
        },
        "BOOKED_10": {"on_enter": [{"action": "send_text", "text": "Booked 10:00"}]},
        "BOOKED_11": {"on_enter": [{"action": "send_text", "text": "Booked 11:00"}]},
        "CANCELLED": {"on_enter": [{"action": "send_text", "text": "Cancelled"}]},
    },
}
MENU_FP = options_fingerprint((Option(BOOK, ""), Option(CANCEL, "")))
SLOTS_FP = options_fingerprint((Option(TEN, ""), Option(ELEVEN, "")))


@pytest.fixture(params=["route", "fast-path"])
async def dp(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DataPlane]:
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "webchat")
    provider = FakeProvider(lambda request: pytest.fail("the web chat calls no provider"))
    async with channel_app({"type": "webchat"}, provider, flow=FLOW) as running:
        yield running


async def say(dp: DataPlane, **body: Any) -> list[dict[str, Any]]:
    response = await dp.client.post("/inbound", json={"contact_id": "web-1", **body})
    assert response.status_code == 200, response.text
    replies: list[dict[str, Any]] = response.json()["replies"]
    return replies


def choose(dp: DataPlane, kind: str, option: dict[str, Any]) -> Any:
    return say(dp, type=kind, payload=option["id"], title=option["title"])


async def test_long_ids_are_sent_by_position_and_a_stale_press_picks_nothing(
    dp: DataPlane,
) -> None:
    (menu,) = await say(dp, text="hi")
    book, cancel = menu["buttons"]
    assert (book["id"], cancel["id"]) == (f"#opt1.{MENU_FP}", f"#opt2.{MENU_FP}")
    (slots,) = await choose(dp, "button_reply", book)
    rows = [row for section in slots["sections"] for row in section["rows"]]
    assert [row["id"] for row in rows] == [f"#opt1.{SLOTS_FP}", ELEVEN]
    # The menu's "Cancel", pressed from the transcript: not the list's second row.
    (again,) = await choose(dp, "button_reply", cancel)
    assert again == slots
    assert await choose(dp, "list_reply", rows[0]) == [{"type": "text", "text": "Booked 10:00"}]


async def test_the_outbox_gives_the_page_the_same_ids(dp: DataPlane) -> None:
    await say(dp, text="hi")
    page = await dp.client.get("/messages", params={"contact_id": "web-1"})
    (message,) = page.json()["messages"]
    assert [b["id"] for b in message["output"]["buttons"]] == [
        f"#opt1.{MENU_FP}",
        f"#opt2.{MENU_FP}",
    ]


async def test_an_id_of_the_old_form_is_an_id_on_the_web_chat(dp: DataPlane) -> None:
    await say(dp, text="hi")
    # the web chat never sent `#opt2` alone: it is a payload no transition knows, not "2"
    (menu,) = await say(dp, type="button_reply", payload="#opt2", title="Cancel")
    assert menu["type"] == "buttons"
