"""`GET /v1/tenants/{id}/conversations` keeps web chat visitors' ids from keys below owner: such
an id is the visitor's only credential on the data plane's public web chat API (read what the
bot said to them, write as them). An editor gets null in its place (WhatsApp and Telegram ids
stay: they are no credential), owners and the admin get it; and the page's `next` is sealed for
everyone, so the data plane's cursor, which names the last contact, leaks no id."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane, Database, make_settings, running_control_plane

from botfleet.data_plane.api.conversation_cursor import encode_cursor

T = "/v1/tenants/acme"
CONVERSATIONS = f"{T}/conversations"
TOKEN = "conversations-web-chat-internal-token-0123"
VISITOR = "webchat:web-9f8e7d6c5b4a39281706"
NUMBER = "34600111222"
BOB = "web-0a1b2c3d4e5f60718293"


def conversation(contact: str, channel: str | None, at: str) -> dict[str, Any]:
    return {
        "contact_id": contact,
        "contact_hash": f"hash-{contact[-4:]}",
        "channel": channel,
        "state": "KNOWN",
        "created_at": at,
        "updated_at": at,
        "last_message_at": at,
    }


FIRST_AT = "2024-05-06T07:05:00Z"
#: The data plane's own cursor after the first page: base64url JSON naming the visitor.
DP_CURSOR = encode_cursor(datetime.fromisoformat(FIRST_AT), VISITOR)
FIRST = {
    "conversations": [
        conversation(NUMBER, "whatsapp", "2024-05-06T07:06:00Z"),
        conversation(VISITOR, "webchat", FIRST_AT),
    ],
    "count": 2,
    "truncated": True,
    "next": DP_CURSOR,
}
SECOND = {
    "conversations": [
        conversation("-100123", "telegram", "2024-05-06T07:01:00Z"),
        conversation(BOB, None, "2024-05-06T07:00:00Z"),  # a data plane that does not say
    ],
    "count": 2,
    "truncated": False,
    "next": None,
}


def data_plane(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/health":
        return httpx.Response(200, json={"status": "ok", "tenant_id": "acme"})
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    before = request.url.params.get("before")
    if before is None:
        return httpx.Response(200, json=FIRST)
    if before == DP_CURSOR:
        return httpx.Response(200, json=SECOND)
    return httpx.Response(422, json={"detail": "before: not a cursor of this list"})


async def _acme(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", data_plane_url="http://dp-acme:8002")
    stored = await cp.client.put(
        f"{T}/credentials/data_plane", json={"internal_token": TOKEN}, headers=cp.admin
    )
    assert stored.status_code == 200, stored.text


async def _key(cp: ControlPlane, role: str) -> dict[str, str]:
    made = await cp.client.post(
        f"{T}/api-keys", json={"name": role, "role": role}, headers=cp.admin
    )
    assert made.status_code == 201, made.text
    return cp.auth(made.json()["key"])


def _decoded(cursor: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, binascii.Error):
        return b""


async def _all_pages(cp: ControlPlane, headers: dict[str, str]) -> list[dict[str, Any]]:
    first = await cp.client.get(CONVERSATIONS, params={"limit": 2}, headers=headers)
    assert first.status_code == 200, first.text
    cursor = first.json()["next"]
    assert isinstance(cursor, str)
    # The cursor names no contact, in its text nor base64-decoded.
    for contact in (VISITOR, NUMBER, "web-9f8e7d6c5b4a39281706"):
        assert contact not in cursor
        assert contact.encode() not in _decoded(cursor)
    assert cursor != DP_CURSOR
    second = await cp.client.get(
        CONVERSATIONS, params={"limit": 2, "before": cursor}, headers=headers
    )
    assert second.status_code == 200, second.text
    # The data plane got its own cursor back.
    assert cp.data_plane_requests[-1].url.params["before"] == DP_CURSOR
    assert second.json()["next"] is None
    pages: list[dict[str, Any]] = first.json()["conversations"] + second.json()["conversations"]
    return pages


async def test_an_editor_gets_no_web_chat_id_and_every_other(database: Database) -> None:
    async with running_control_plane(make_settings(database), data_plane) as cp:
        await _acme(cp)
        listed = await _all_pages(cp, await _key(cp, "editor"))
    assert [c["contact_id"] for c in listed] == [NUMBER, None, "-100123", None]
    # All but the id stays: a row per conversation, its hash, channel, state and times.
    every = FIRST["conversations"] + SECOND["conversations"]
    assert [{**c, "contact_id": None} for c in listed] == [{**c, "contact_id": None} for c in every]


@pytest.mark.parametrize("who", ["owner", "admin"])
async def test_owners_and_the_admin_see_web_chat_ids(database: Database, who: str) -> None:
    async with running_control_plane(make_settings(database), data_plane) as cp:
        await _acme(cp)
        headers = cp.admin if who == "admin" else await _key(cp, "owner")
        listed = await _all_pages(cp, headers)
    assert [c["contact_id"] for c in listed] == [NUMBER, VISITOR, "-100123", BOB]


async def test_a_forged_cursor_is_a_422_naming_before_without_asking(database: Database) -> None:
    said = (
        "before: not a cursor of this list: pass the `next` of the previous page as it is, or "
        "leave it out for the first page"
    )
    async with running_control_plane(make_settings(database), data_plane) as cp:
        await _acme(cp)
        await cp.create_tenant("other")
        box = cp.app.state.container.box
        editor = await _key(cp, "editor")
        forged = [
            DP_CURSOR,  # the data plane's own: an editor could write one naming anyone
            "abc",
            "gAAAAABforged==",
            # Another tenant's; another list's; no cursor inside.
            box.seal({"listing": "conversations", "tenant": "other", "cursor": DP_CURSOR}),
            box.seal({"listing": "tenants", "tenant": "acme", "cursor": DP_CURSOR}),
            box.seal({"listing": "conversations", "tenant": "acme", "cursor": 7}),
        ]
        answers = [
            await cp.client.get(CONVERSATIONS, params={"before": f}, headers=editor) for f in forged
        ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"] == said
    assert cp.data_plane_requests == [], "a forged cursor reached the data plane"
