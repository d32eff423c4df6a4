"""Web chat clients choose their message ids: one another contact already used is refused with
409, never answered with that contact's replies (nor dropped as a duplicate)."""

from __future__ import annotations

from typing import Any

from botfleet.testing.runtime import running_app

ECHO: dict[str, Any] = {
    "id": "echo",
    "initial_state": "ECHO",
    "states": {
        "ECHO": {
            "on_enter": [
                {"action": "send_text", "text": "Hi {{ contact.name }}: {{ message.text }}"}
            ],
            "fallback": "ECHO",
        }
    },
}


async def test_an_id_used_by_another_contact_is_refused_without_its_replies() -> None:
    async with running_app(flow=ECHO) as chat:
        alice = {"contact_id": "alice-7f3a", "message_id": "order-1001", "text": "hola"}
        first = await chat.post({**alice, "contact_name": "Alice Secretname"})
        assert [r["text"] for r in first["replies"]] == ["Hi Alice Secretname: hola"]

        stolen = await chat.http.post(
            "/inbound", json={"contact_id": "mallory", "message_id": "order-1001", "text": "x"}
        )
        assert stolen.status_code == 409
        assert "Secretname" not in stolen.text
        assert "already used by another contact" in stolen.json()["detail"]
        assert await chat.messages("mallory") == []

        again = await chat.post(alice)  # the owner's own retry is still a duplicate
        assert again["duplicate"] is True
        assert [r["text"] for r in again["replies"]] == ["Hi Alice Secretname: hola"]
        fresh = await chat.post({"contact_id": "mallory", "message_id": "m-1", "text": "x"})
        assert [r["text"] for r in fresh["replies"]] == ["Hi : x"]
