"""A hostile flow in a running data plane, and Unicode and emoji everywhere on it.

The hostile templates render as nothing (the rest of the turn goes on), the process keeps
serving, and every non-ASCII text, contact name, button payload, task datum and tenant name comes
back intact. Web-chat contact ids are ASCII by contract (they travel in URLs and logs): a
non-ASCII one is refused with a 422 naming the field, never stored half-way.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from hostile_flow import BUTTON, INTERNAL_TOKEN, TENANT_NAME

from botfleet.testing.runtime import ChatClient

CONTACTS = ["ana", "user-tokyo", "emoji", "arabic", "combining", "family"]
NAMES = ["Ana Ñúñez", "用户 东京", "😀🎉", "مرحبا", "z\u0301algo", "👩‍👩‍👧‍👦"]
TEXTS = ["hola ¿qué tal? ñ", "日本語のテキスト", "🦄🔥💯", "שָׁלוֹם", "e\u0301 vs é", "Ω≈ç√∫"]


def texts_of(replies: list[dict[str, object]]) -> list[str]:
    return [str(r.get("text") or r.get("body") or "") for r in replies]


async def test_a_hostile_turn_renders_nothing_dangerous_and_the_turn_completes(
    hostile_chat: ChatClient,
) -> None:
    await hostile_chat.say("victim", "hola")
    started = time.perf_counter()
    replies = await asyncio.wait_for(hostile_chat.press("victim", "bomb"), timeout=10)
    assert time.perf_counter() - started < 5
    said = " ".join(texts_of(replies))
    assert "sigo aquí ✅" in said
    for leaked in ("class", "subclasses", "environ", "boom", "Recursion", "<"):
        assert leaked not in said
    assert all(len(text) < 20_000 for text in texts_of(replies))
    # The refused value was not stored: the next turn loads the conversation normally.
    again = await hostile_chat.say("victim", "¿sigues vivo? 🤖")
    assert texts_of(again) == ["eco: ¿sigues vivo? 🤖"]


async def test_the_process_keeps_serving_others_during_hostile_turns(
    hostile_chat: ChatClient,
) -> None:
    await asyncio.gather(*(hostile_chat.say(f"bomber-{i}", "hola") for i in range(5)))
    bombs = [hostile_chat.press(f"bomber-{i}", "bomb") for i in range(5)]
    bystander = hostile_chat.say("bystander", "hola")
    results = await asyncio.wait_for(asyncio.gather(*bombs, bystander), timeout=20)
    assert all(results)
    health = await hostile_chat.http.get("/health")
    assert health.status_code == 200


@pytest.mark.parametrize(
    ("contact", "name", "text"), list(zip(CONTACTS, NAMES, TEXTS, strict=True))
)
async def test_unicode_names_and_texts_round_trip(
    hostile_chat: ChatClient, contact: str, name: str, text: str
) -> None:
    menu = await hostile_chat.say(contact, "hola", contact_name=name)
    assert f"¡Hola {name}! 👋 {TENANT_NAME}" in texts_of(menu)
    await hostile_chat.press(contact, BUTTON)
    echoed = await hostile_chat.say(contact, text)
    assert texts_of(echoed) == [f"eco: {text}"]
    stored = await hostile_chat.messages(contact)
    assert f"eco: {text}" in texts_of([m["output"] for m in stored])


async def test_a_non_ascii_contact_id_is_refused_naming_the_field(
    hostile_chat: ChatClient,
) -> None:
    response = await hostile_chat.http.post(
        "/inbound", json={"contact_id": "ana-ñ", "text": "hola"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "contact_id"]
    assert await hostile_chat.messages("ana") == []


async def test_a_unicode_button_payload_matches_its_transition(hostile_chat: ChatClient) -> None:
    menu = await hostile_chat.say("ave", "hola")
    payloads = [o["id"] for r in menu for o in r.get("buttons", [])]  # type: ignore[union-attr]
    assert BUTTON in payloads
    replies = await hostile_chat.press("ave", BUTTON, title="Ñandú 🦤")
    # ECHO was entered through the Unicode payload; a pressed button's text is its title.
    assert texts_of(replies) == ["eco: Ñandú 🦤"]


async def test_a_unicode_task_runs_through_run_task(hostile_chat: ChatClient) -> None:
    await hostile_chat.say("tarea", "hola")
    response = await hostile_chat.http.post(
        "/run-task",
        json={"task": "aviso", "contact_id": "tarea", "data": {"nota": "mañana 🕙 10:00"}},
        headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["contact_id"] == "tarea"
    messages = await hostile_chat.messages("tarea")
    assert "Aviso 🔔 mañana 🕙 10:00" in str(messages)
