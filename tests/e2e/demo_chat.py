"""Reading the demo bot's replies (the JSON of `POST /inbound`), shared by the e2e tests."""

from __future__ import annotations

from typing import Any

from botfleet.testing.runtime import ChatClient

Replies = list[dict[str, Any]]

MENU_TEXT = "Hi! Welcome to Bella Hair Studio. What would you like to do?"
CALENDAR_DOWN = "Our calendar is not reachable right now. Please try again in a few minutes."
SLOT_TAKEN = "Sorry, that time was just taken by someone else. Here are the times still free:"


def texts(replies: Replies) -> list[str]:
    return [str(r["text"]) for r in replies]


def option_ids(reply: dict[str, Any]) -> list[str]:
    """The ids a buttons or list reply offers, in order."""
    if reply["type"] == "buttons":
        return [b["id"] for b in reply["buttons"]]
    if reply["type"] == "list":
        return [row["id"] for s in reply["sections"] for row in s["rows"]]
    raise AssertionError(f"no options in {reply}")


def option_titles(reply: dict[str, Any]) -> list[str]:
    if reply["type"] == "buttons":
        return [b["title"] for b in reply["buttons"]]
    return [row["title"] for s in reply["sections"] for row in s["rows"]]


def is_menu(replies: Replies) -> bool:
    last = replies[-1]
    return last["type"] == "buttons" and last["text"] == MENU_TEXT


async def book(chat: ChatClient, contact: str, *, day: str, slot: str) -> Replies:
    """Book `slot` (e.g. "hour_2024-05-06_1000") on `day` ("day_2024-05-06") by pressing."""
    await chat.say(contact, "hi")
    await chat.press(contact, "menu_book")
    await chat.press(contact, "service_haircut", kind="list_reply")
    await chat.press(contact, day, kind="list_reply")
    await chat.press(contact, slot, kind="list_reply")
    return await chat.press(contact, "confirm_yes")
