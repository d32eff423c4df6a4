"""`GET`/`DELETE /v1/tenants/{id}/contacts/{contact_id}` and `GET /v1/tenants/{id}/conversations`
relayed to a real data plane (in process, SQLite store): the admin and the tenant's own key
list conversations, see and erase a contact, another tenant's key gets 404, and the audit log
counts without naming the contact."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane, Database, FakeDns, make_settings

from botfleet.control_plane.app import create_app
from botfleet.testing.runtime import ChatClient, FrozenClock, make_tenant_config, running_app
from botfleet.testing.runtime import make_settings as data_plane_settings

TOKEN = "contacts-relay-internal-token-0123456789"
FLOW: dict[str, Any] = {
    "id": "names",
    "initial_state": "ASK",
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
#: A Telegram forum topic's chat id: `-` first, `:` inside, all of it one path segment.
TOPIC = "-100123:topic:7"


@contextlib.asynccontextmanager
async def control_plane_and_data_plane(
    database: Database, tmp_path: Path
) -> AsyncIterator[tuple[ControlPlane, ChatClient]]:
    """acme's data plane running for real, and a control plane reaching it over ASGI."""
    config = make_tenant_config(FLOW, tenant_id="acme")
    dp_settings = data_plane_settings(tmp_path / "state.db", internal_token=TOKEN)
    async with running_app(config, settings=dp_settings) as chat:
        seen: list[httpx.Request] = []
        to_data_plane = httpx.ASGITransport(app=chat.app)

        class Recording(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                seen.append(request)
                return await to_data_plane.handle_async_request(request)

        dns = FakeDns()
        app = create_app(make_settings(database), data_plane_transport=Recording(), resolver=dns)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://cp.test") as http:
                cp = ControlPlane(client=http, app=app, data_plane_requests=seen, dns=dns)
                await cp.create_tenant("acme", data_plane_url="http://dp-acme:8002")
                stored = await http.put(
                    "/v1/tenants/acme/credentials/data_plane",
                    json={"internal_token": TOKEN},
                    headers=cp.admin,
                )
                assert stored.status_code == 200, stored.text
                yield cp, chat


async def test_the_admin_exports_then_erases_a_contact(database: Database, tmp_path: Path) -> None:
    async with control_plane_and_data_plane(database, tmp_path) as (cp, chat):
        await chat.say("34600111222", "Ana García")
        await chat.say("34600999888", "Bob")

        exported = await cp.client.get("/v1/tenants/acme/contacts/34600111222", headers=cp.admin)

        assert exported.status_code == 200, exported.text
        assert exported.headers["cache-control"] == "no-store"
        body = exported.json()
        assert body["contact_id"] == "34600111222"
        assert body["conversation"]["data"]["name"] == "Ana García"
        assert [m["message"]["text"] for m in body["messages_received"]] == ["Ana García"]
        assert "Hello Ana García" in [m["output"]["text"] for m in body["messages_sent"]]
        assert "Bob" not in exported.text
        # The data plane was asked with the token, after its /health named the tenant.
        paths = [(r.method, r.url.path) for r in cp.data_plane_requests]
        assert paths == [("GET", "/health"), ("GET", "/contacts/34600111222")]
        assert cp.data_plane_requests[0].headers.get("authorization") is None
        assert cp.data_plane_requests[1].headers["authorization"] == f"Bearer {TOKEN}"

        erased = await cp.client.delete("/v1/tenants/acme/contacts/34600111222", headers=cp.admin)

        assert erased.status_code == 200, erased.text
        assert erased.json() == {
            "contact_id": "34600111222",
            "contact_hash": body["contact_hash"],
            "stored_as": None,
            "conversation": True,
            "messages_received": 1,
            "messages_sent": len(body["messages_sent"]),
            "scheduled_tasks": 0,
            "kept_notifications": 0,
            "appointments_left": 0,
        }
        after = await cp.client.get("/v1/tenants/acme/contacts/34600111222", headers=cp.admin)
        assert after.json()["conversation"] is None
        assert after.json()["messages_received"] == after.json()["messages_sent"] == []
        bob = await cp.client.get("/v1/tenants/acme/contacts/34600999888", headers=cp.admin)
        assert bob.json()["conversation"]["data"]["name"] == "Bob"


async def test_the_tenants_own_key_may_another_tenants_may_not(
    database: Database, tmp_path: Path
) -> None:
    async with control_plane_and_data_plane(database, tmp_path) as (cp, chat):
        await chat.say(TOPIC, "Ana")
        own = cp.auth(await cp.tenant_key("acme"))
        await cp.create_tenant("other")
        foreign = cp.auth(await cp.tenant_key("other"))
        path = "/v1/tenants/acme/contacts/-100123%3Atopic%3A7"

        for method in ("GET", "DELETE"):
            refused = await cp.client.request(method, path, headers=foreign)
            assert refused.status_code == 404, refused.text
            assert refused.json() == {"detail": "tenant 'acme' not found"}
        assert cp.data_plane_requests == [], "another tenant's key reached the data plane"

        exported = await cp.client.get(path, headers=own)
        assert exported.status_code == 200, exported.text
        assert exported.json()["contact_id"] == TOPIC
        assert exported.json()["conversation"]["data"]["name"] == "Ana"
        erased = await cp.client.delete(path, headers=own)
        assert erased.status_code == 200, erased.text
        assert erased.json()["conversation"] is True


async def test_the_audit_counts_and_names_no_contact(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="botfleet.control_plane")
    async with control_plane_and_data_plane(database, tmp_path) as (cp, chat):
        await chat.say("34600111222", "Ana")
        key = await cp.tenant_key("acme")
        path = "/v1/tenants/acme/contacts/34600111222"
        exported = (await cp.client.get(path, headers=cp.admin)).json()
        assert (await cp.client.delete(path, headers=cp.auth(key))).status_code == 200

        entries = await cp.client.get("/v1/audit", params={"tenant_id": "acme"}, headers=cp.admin)

        erase, export = [e for e in entries.json() if e["action"].startswith("contact.")]
        assert (erase["action"], export["action"]) == ("contact.erase", "contact.export")
        assert export["actor"] == "admin"
        assert erase["actor"] == f"apikey:{key.split('_')[1]}"
        assert len(exported["contact_hash"]) == 12
        assert export["details"] == {
            "contact_hash": exported["contact_hash"],
            "conversation": True,
            "messages_received": 1,
            "messages_sent": len(exported["messages_sent"]),
            "scheduled_tasks": 0,
            "truncated": False,
        }
        assert erase["details"] == {
            "contact_hash": exported["contact_hash"],  # matches the data plane's log line
            "conversation": True,
            "messages_received": 1,
            "messages_sent": len(exported["messages_sent"]),
            "scheduled_tasks": 0,
            "kept_notifications": 0,
            "appointments_left": 0,
        }
        assert erase["tenant_id"] == export["tenant_id"] == "acme"
        # Neither the number nor any run of its digits.
        assert "600111" not in entries.text
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("botfleet.control_")]
    assert any('"route": "/v1/tenants/{tenant_id}/contacts/{contact_id' in x for x in lines)
    assert not [line for line in lines if "600111" in line or TOKEN in line]


async def test_the_tenant_lists_who_talked_and_when_as_its_data_plane_does(
    database: Database, tmp_path: Path
) -> None:
    async with control_plane_and_data_plane(database, tmp_path) as (cp, chat):
        clock = chat.runtime.clock
        assert isinstance(clock, FrozenClock)
        await chat.say("34600111222", "Ana García")
        ana_at = clock.now()
        clock.advance(timedelta(minutes=5))
        await chat.say(TOPIC, "Bob")
        own = cp.auth(await cp.tenant_key("acme"))
        path = "/v1/tenants/acme/conversations"

        listed = await cp.client.get(path, headers=own)

        assert listed.status_code == 200, listed.text
        assert listed.headers["cache-control"] == "no-store"
        body = listed.json()
        assert [c["contact_id"] for c in body["conversations"]] == [TOPIC, "34600111222"]
        assert (body["count"], body["truncated"]) == (2, False)
        assert body["conversations"][0]["state"] == "KNOWN"
        bob_at = datetime.fromisoformat(body["conversations"][0]["last_message_at"])
        assert bob_at == clock.now() == ana_at + timedelta(minutes=5)
        assert "Ana García" not in listed.text and "Bob" not in listed.text  # never what
        direct = await chat.http.get("/conversations", headers={"Authorization": f"Bearer {TOKEN}"})
        assert body == direct.json()  # relayed as the data plane answers it
        # The token went only after /health named the tenant; the default limit was asked.
        health, asked = cp.data_plane_requests
        assert (health.url.path, asked.url.path) == ("/health", "/conversations")
        assert health.headers.get("authorization") is None
        assert asked.headers["authorization"] == f"Bearer {TOKEN}"
        assert dict(asked.url.params) == {"limit": "100"}

        one = await cp.client.get(path, params={"limit": 1}, headers=own)
        assert [c["contact_id"] for c in one.json()["conversations"]] == [TOPIC]
        assert one.json()["truncated"] is True
        # One minute after Ana's message, written in Madrid's summer offset.
        since = (ana_at + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=2)))
        recent = await cp.client.get(
            path, params={"active_since": since.isoformat()}, headers=cp.admin
        )
        assert recent.status_code == 200, recent.text
        assert [c["contact_id"] for c in recent.json()["conversations"]] == [TOPIC]
        assert cp.data_plane_requests[-1].url.params["active_since"] == since.isoformat()

        # A listing hands out no content: it is not audited.
        entries = await cp.client.get("/v1/audit", params={"tenant_id": "acme"}, headers=cp.admin)
        assert [e["action"] for e in entries.json() if "contact" in e["action"]] == []
        assert not [e for e in entries.json() if "conversation" in e["action"]]


@pytest.mark.parametrize("role", ["editor", "owner"])
async def test_pages_of_conversations_of_one_time_are_relayed_cursor_and_all(
    database: Database, tmp_path: Path, role: str
) -> None:
    async with control_plane_and_data_plane(database, tmp_path) as (cp, chat):
        # The data plane's clock stands still: five contacts write at one time.
        for n in (3, 0, 4, 1, 2):
            await chat.say(f"3460011122{n}", "Ana")
        made = await cp.client.post(
            "/v1/tenants/acme/api-keys", json={"name": role, "role": role}, headers=cp.admin
        )
        assert made.status_code == 201, made.text
        own = cp.auth(made.json()["key"])
        dp_auth = {"Authorization": f"Bearer {TOKEN}"}
        direct = await chat.http.get("/conversations", headers=dp_auth)
        listed: list[str | None] = []
        hashes: list[str] = []
        params: dict[str, Any] = {"limit": 2}
        relayed: str | None = None  # the data plane's cursor the last page ended with
        while True:
            page = await cp.client.get("/v1/tenants/acme/conversations", params=params, headers=own)
            assert page.status_code == 200, page.text
            listed += [c["contact_id"] for c in page.json()["conversations"]]
            hashes += [c["contact_hash"] for c in page.json()["conversations"]]
            assert len(listed) <= 5, "the pages do not end"
            asked = cp.data_plane_requests[-1]
            assert (asked.url.params.get("before"), asked.url.params["limit"]) == (relayed, "2")
            if page.json()["next"] is None:
                break
            # The data plane's cursor of the same page names its last contact; the one handed
            # out is sealed, and the data plane gets its own back.
            same = {"limit": "2", **({"before": relayed} if relayed else {})}
            theirs = await chat.http.get("/conversations", params=same, headers=dp_auth)
            relayed = theirs.json()["next"]
            assert page.json()["next"] != relayed
            assert theirs.json()["conversations"][-1]["contact_id"] not in page.json()["next"]
            params["before"] = page.json()["next"]

        assert hashes == [c["contact_hash"] for c in direct.json()["conversations"]]
        # The test data plane's channel is the web chat: its ids are the visitors' credentials.
        assert {c["channel"] for c in direct.json()["conversations"]} == {"webchat"}
        if role == "editor":
            assert listed == [None] * 5
        else:
            assert listed == [f"3460011122{n}" for n in (4, 3, 2, 1, 0)]


async def test_another_tenants_key_cannot_list_the_conversations(
    database: Database, tmp_path: Path
) -> None:
    async with control_plane_and_data_plane(database, tmp_path) as (cp, chat):
        await chat.say("34600111222", "Ana")
        await cp.create_tenant("other")
        foreign = cp.auth(await cp.tenant_key("other"))

        refused = await cp.client.get("/v1/tenants/acme/conversations", headers=foreign)

        assert refused.status_code == 404, refused.text
        assert refused.json() == {"detail": "tenant 'acme' not found"}
        assert cp.data_plane_requests == [], "another tenant's key reached the data plane"
