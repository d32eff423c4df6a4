"""Two tenants on one control plane, each with its own data plane booted from it: neither can
reach the other's configuration, credentials, conversations or endpoints, and no secret of
either shows up in any log line, response or metrics page of either plane.

Both tenants are on WhatsApp with their own Graph API credentials; the Graph API is played by
an in-process fake per data plane that records who called it with which token.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from boot_harness import CACHE_KEY, cp_transport, dp_settings
from cp_harness import (
    ADMIN_KEY,
    FERNET_KEY,
    ControlPlane,
    Database,
    make_settings,
    running_control_plane,
)

from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.data_plane.app import create_app
from botfleet.data_plane.bootstrap import Overrides
from botfleet.data_plane.config_source import pull_boot_config
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.testing.faults import (
    assert_no_secrets,
    capture_all_logs,
    whatsapp_signed,
    whatsapp_text_delivery,
)

FLOW = """\
id: {tenant}_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: "Hello from {tenant}"
    fallback: MENU
"""


@dataclass
class Tenant:
    id: str
    phone_number_id: str
    secrets: dict[str, str]
    boot_token: str = ""
    api_key: str = ""

    @property
    def channel_credentials(self) -> dict[str, str]:
        return {k: self.secrets[k] for k in ("access_token", "app_secret", "verify_token")}


def _tenant(name: str, phone_number_id: str) -> Tenant:
    return Tenant(
        id=name,
        phone_number_id=phone_number_id,
        secrets={
            "access_token": f"EAAG-{name}-graph-access-token",
            "app_secret": f"{name}-meta-app-secret-4242",
            "verify_token": f"{name}-verify-token-4242",
            "llm_api_key": f"sk-{name}-llm-api-key-4242",
            "internal_token": f"{name}-internal-token-0123456789abcdef",
        },
    )


@dataclass
class GraphFake:
    """Records each Graph API call: (path, bearer token)."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        self.calls.append((request.url.path, token))
        return httpx.Response(200, json={"messages": [{"id": "wamid.sent"}]})


@dataclass
class Plane:
    tenant: Tenant
    client: httpx.AsyncClient
    app: Any
    graph: GraphFake
    settings: DataPlaneSettings

    @property
    def runtime(self) -> ConversationRuntime:
        runtime: ConversationRuntime = self.app.state.runtime
        return runtime


@dataclass
class Fleet:
    cp: ControlPlane
    alpha: Tenant
    bravo: Tenant
    planes: dict[str, Plane]
    #: Every response either plane gave in these tests: where -> status, headers and body.
    seen: dict[str, str] = field(default_factory=dict)

    def keep(self, where: str, response: httpx.Response) -> httpx.Response:
        self.seen[f"{where} #{len(self.seen)}"] = (
            f"{response.status_code} {dict(response.headers)} {response.text}"
        )
        return response

    @property
    def secrets(self) -> dict[str, str]:
        found = {f"{t.id}.{k}": v for t in (self.alpha, self.bravo) for k, v in t.secrets.items()}
        found |= {f"{t.id}.boot_token": t.boot_token for t in (self.alpha, self.bravo)}
        found |= {f"{t.id}.api_key": t.api_key for t in (self.alpha, self.bravo)}
        return found | {"admin_key": ADMIN_KEY, "fernet_key": FERNET_KEY, "cache_key": CACHE_KEY}


async def _register(cp: ControlPlane, tenant: Tenant) -> None:
    tenant.boot_token = await cp.create_tenant(
        tenant.id,
        channel={
            "type": "whatsapp",
            "phone_number_id": tenant.phone_number_id,
            "graph_base_url": "https://graph.test",
            "retry_base_s": 0,
        },
        connectors={"llm": {"type": "mock_llm"}},
        llm={"enabled": True, "provider": "mock_llm"},
    )
    tenant.api_key = await cp.tenant_key(tenant.id)
    flow = await cp.client.post(
        f"/v1/tenants/{tenant.id}/flows?publish=true",
        content=FLOW.format(tenant=tenant.id),
        headers={**cp.admin, "Content-Type": "application/yaml"},
    )
    assert flow.status_code == 201, flow.text
    knowledge = await cp.client.post(
        f"/v1/tenants/{tenant.id}/knowledge?publish=true",
        json={"text": f"# {tenant.id} facts"},
        headers=cp.admin,
    )
    assert knowledge.status_code == 201, knowledge.text
    for scope, values in (
        ("channel", tenant.channel_credentials),
        ("llm", {"api_key": tenant.secrets["llm_api_key"]}),
        ("data_plane", {"internal_token": tenant.secrets["internal_token"]}),
    ):
        put = await cp.client.put(
            f"/v1/tenants/{tenant.id}/credentials/{scope}", json=values, headers=cp.admin
        )
        assert put.status_code == 200, put.text


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Fleet]:
    database = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}")
    async with AsyncExitStack() as stack:
        cp = await stack.enter_async_context(running_control_plane(make_settings(database)))
        alpha, bravo = _tenant("alpha", "1000000001"), _tenant("bravo", "2000000002")
        for tenant in (alpha, bravo):
            await _register(cp, tenant)
        planes = {}
        for tenant in (alpha, bravo):
            settings = dp_settings(
                tmp_path / tenant.id,
                tenant.boot_token,
                tenant_id=tenant.id,
                internal_token=tenant.secrets["internal_token"],
            )
            booted = await pull_boot_config(settings, transport=cp_transport(cp))
            graph = GraphFake()
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.MockTransport(graph.handle))
            )
            app = create_app(settings, boot=booted, overrides=Overrides(http=HttpxProvider(http)))
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=f"http://{tenant.id}.test"
                )
            )
            planes[tenant.id] = Plane(tenant, client, app, graph, settings)
        yield Fleet(cp, alpha, bravo, planes)


def _signed(tenant: Tenant, body: bytes, *, secret: str | None = None) -> dict[str, str]:
    return whatsapp_signed(body, secret or tenant.secrets["app_secret"])


def _delivery(tenant: Tenant, wa_id: str, text: str, message_id: str) -> bytes:
    return whatsapp_text_delivery(
        phone_number_id=tenant.phone_number_id, sender=wa_id, message_id=message_id, text=text
    )


async def test_a_tenant_key_reaches_nothing_of_another_tenant(fleet: Fleet) -> None:
    cp, alpha, bravo = fleet.cp, fleet.alpha, fleet.bravo
    key = cp.auth(alpha.api_key)
    before = {
        path: (await cp.client.get(path, headers=cp.admin)).json()
        for path in (
            f"/v1/tenants/{bravo.id}",
            f"/v1/tenants/{bravo.id}/flows",
            f"/v1/tenants/{bravo.id}/knowledge",
            f"/v1/tenants/{bravo.id}/credentials",
            f"/v1/tenants/{bravo.id}/api-keys",
        )
    }
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/v1/tenants/{bravo.id}", {}),
        ("PATCH", f"/v1/tenants/{bravo.id}", {"json": {"name": "Taken over"}}),
        ("GET", f"/v1/tenants/{bravo.id}/export", {}),
        ("GET", f"/v1/tenants/{bravo.id}/flows", {}),
        ("GET", f"/v1/tenants/{bravo.id}/flows/1", {}),
        ("POST", f"/v1/tenants/{bravo.id}/flows", {"json": {"yaml": FLOW.format(tenant="x")}}),
        ("POST", f"/v1/tenants/{bravo.id}/flows/rollback", {}),
        ("GET", f"/v1/tenants/{bravo.id}/knowledge/1", {}),
        ("POST", f"/v1/tenants/{bravo.id}/knowledge", {"json": {"text": "# mine now"}}),
        ("GET", f"/v1/tenants/{bravo.id}/credentials", {}),
        ("PUT", f"/v1/tenants/{bravo.id}/credentials/channel", {"json": {"app_secret": "x"}}),
        ("DELETE", f"/v1/tenants/{bravo.id}/credentials/channel", {}),
        ("GET", f"/v1/tenants/{bravo.id}/api-keys", {}),
        ("POST", f"/v1/tenants/{bravo.id}/api-keys", {"json": {"name": "mine"}}),
        ("POST", f"/v1/tenants/{bravo.id}/boot-token/rotate", {}),
        ("GET", f"/v1/tenants/{bravo.id}/status", {}),
        ("DELETE", f"/v1/tenants/{bravo.id}", {}),
    ]
    for method, path, extra in attempts:
        response = fleet.keep(
            f"{method} {path}", await cp.client.request(method, path, headers=key, **extra)
        )
        assert response.status_code in (403, 404), (method, path, response.text)
    listed = fleet.keep("GET /v1/tenants", await cp.client.get("/v1/tenants", headers=key))
    assert [t["id"] for t in listed.json()] == [alpha.id]
    audit = fleet.keep(
        "GET /v1/audit",
        await cp.client.get("/v1/audit", params={"tenant_id": bravo.id}, headers=key),
    )
    assert audit.status_code in (403, 404) or all(
        e["tenant_id"] == alpha.id for e in audit.json()["entries"]
    )
    after = {path: (await cp.client.get(path, headers=cp.admin)).json() for path in before}
    assert after == before
    # Bravo's boot token still works: the rotation attempt did nothing.
    boot = await cp.client.get(f"/v1/boot/{bravo.id}", headers=cp.auth(bravo.boot_token))
    assert boot.status_code == 200


async def test_a_boot_token_pulls_only_its_own_tenant(fleet: Fleet) -> None:
    cp, alpha, bravo = fleet.cp, fleet.alpha, fleet.bravo
    own = await cp.client.get(f"/v1/boot/{alpha.id}", headers=cp.auth(alpha.boot_token))
    assert own.status_code == 200
    payload = own.text
    # Alpha's own secrets are in its payload (that is how they reach its data plane)...
    assert alpha.secrets["access_token"] in payload
    # ...and nothing of bravo's, secret or not.
    for name, value in bravo.secrets.items():
        assert value not in payload, name
    assert "Hello from bravo" not in payload and bravo.phone_number_id not in payload

    for token, tenant_id in ((alpha.boot_token, bravo.id), (bravo.boot_token, alpha.id)):
        crossed = fleet.keep(
            f"GET /v1/boot/{tenant_id} (other token)",
            await cp.client.get(f"/v1/boot/{tenant_id}", headers=cp.auth(token)),
        )
        assert crossed.status_code == 401, crossed.text
    # A tenant API key is not a boot token either.
    with_key = fleet.keep(
        "GET /v1/boot with an API key",
        await cp.client.get(f"/v1/boot/{alpha.id}", headers=cp.auth(alpha.api_key)),
    )
    assert with_key.status_code == 401

    rotated = await cp.client.post(f"/v1/tenants/{alpha.id}/boot-token/rotate", headers=cp.admin)
    assert rotated.status_code == 200
    old = fleet.keep(
        "GET /v1/boot (rotated token)",
        await cp.client.get(f"/v1/boot/{alpha.id}", headers=cp.auth(alpha.boot_token)),
    )
    assert old.status_code == 401
    alpha.boot_token = rotated.json()["boot_token"]
    new = await cp.client.get(f"/v1/boot/{alpha.id}", headers=cp.auth(alpha.boot_token))
    assert new.status_code == 200


async def test_each_data_plane_serves_only_its_tenant_with_its_own_credentials(
    fleet: Fleet,
) -> None:
    a, b = fleet.planes["alpha"], fleet.planes["bravo"]
    body = _delivery(a.tenant, "34600000001", "hola", "wamid.alpha-1")

    accepted = fleet.keep("alpha POST /webhook", await a.client.post(
        "/webhook", content=body, headers=_signed(a.tenant, body)
    ))  # fmt: skip
    assert accepted.status_code == 200, accepted.text
    await a.runtime.sequencer.drain()
    # Alpha answered through the Graph API with alpha's token, for alpha's number only.
    assert a.graph.calls, "alpha sent nothing"
    assert {token for _, token in a.graph.calls} == {a.tenant.secrets["access_token"]}
    assert all(a.tenant.phone_number_id in path for path, _ in a.graph.calls)

    # The same delivery, signed with alpha's secret, is refused by bravo's data plane; bravo's
    # own secret does not make alpha's phone number its business either.
    alpha_signed = _signed(b.tenant, body, secret=a.tenant.secrets["app_secret"])
    refused = fleet.keep("bravo POST /webhook (alpha-signed)", await b.client.post(
        "/webhook", content=body, headers=alpha_signed
    ))  # fmt: skip
    assert refused.status_code == 403
    resigned = fleet.keep("bravo POST /webhook (other number)", await b.client.post(
        "/webhook", content=body, headers=_signed(b.tenant, body)
    ))  # fmt: skip
    assert resigned.status_code == 200
    assert resigned.json()["accepted"] == 0
    await b.runtime.sequencer.drain()
    assert b.graph.calls == []
    assert await b.runtime.states.load("34600000001") is None
    assert await a.runtime.states.load("34600000001") is not None

    # Each plane's verification handshake takes only its own verify token.
    for plane, other in ((a, b), (b, a)):
        params = {"hub.mode": "subscribe", "hub.challenge": "42"}
        wrong = fleet.keep("GET /webhook (other verify token)", await plane.client.get(
            "/webhook", params={**params, "hub.verify_token": other.tenant.secrets["verify_token"]}
        ))  # fmt: skip
        assert wrong.status_code == 403
        right = await plane.client.get(
            "/webhook", params={**params, "hub.verify_token": plane.tenant.secrets["verify_token"]}
        )
        assert right.text == "42"

    # Internal routes take only their own plane's token.
    for plane, other in ((a, b), (b, a)):
        foreign = {"Authorization": f"Bearer {other.tenant.secrets['internal_token']}"}
        mine = {"Authorization": f"Bearer {plane.tenant.secrets['internal_token']}"}
        where = f"{plane.tenant.id} with {other.tenant.id}'s token"
        for method, path in (("GET", "/tasks"), ("GET", "/usage")):
            crossed = fleet.keep(
                f"{where}: {method} {path}",
                await plane.client.request(method, path, headers=foreign),
            )
            assert crossed.status_code in (401, 403), crossed.text
            own = await plane.client.request(method, path, headers=mine)
            assert own.status_code == 200, own.text
        ran = fleet.keep(f"{where}: POST /run-task", await plane.client.post(
            "/run-task", json={"task": "x", "contact_id": "34600000001"}, headers=foreign
        ))  # fmt: skip
        assert ran.status_code in (401, 403)

    # Separate state files.
    a_db, b_db = a.settings.state_db_for("alpha"), b.settings.state_db_for("bravo")
    assert a_db != b_db and a_db.exists() and b_db.exists()
    assert b"34600000001" not in b_db.read_bytes()


async def test_no_secret_appears_in_any_log_response_or_metrics(
    fleet: Fleet, tmp_path: Path
) -> None:
    with capture_all_logs() as logs:
        await test_a_tenant_key_reaches_nothing_of_another_tenant(fleet)
        await test_each_data_plane_serves_only_its_tenant_with_its_own_credentials(fleet)
        cp = fleet.cp
        # Error paths that carry secret-shaped input: wrong keys, a secret in a binding, bad
        # credentials bodies, bad signatures.
        alpha = fleet.alpha.secrets
        binding = {
            "type": "whatsapp",
            "phone_number_id": "1",
            "access_token": alpha["access_token"],
        }
        bad_signature = {"X-Hub-Signature-256": "sha256=" + alpha["app_secret"]}
        for where, response in (
            ("wrong key", await cp.client.get(
                "/v1/tenants", headers=cp.auth(alpha["llm_api_key"])
            )),
            ("secret in a binding", await cp.client.patch(
                "/v1/tenants/alpha", json={"channel": binding}, headers=cp.admin
            )),
            ("credentials not an object", await cp.client.put(
                "/v1/tenants/alpha/credentials/channel",
                content=f'["{alpha["app_secret"]}"',
                headers={**cp.admin, "Content-Type": "application/json"},
            )),
            ("credentials listing", await cp.client.get(
                "/v1/tenants/alpha/credentials", headers=cp.admin
            )),
            ("export", await cp.client.get("/v1/tenants/alpha/export", headers=cp.admin)),
            ("audit", await cp.client.get("/v1/audit", headers=cp.admin)),
            ("bad signature", await fleet.planes["alpha"].client.post(
                "/webhook", content=b"{}", headers=bad_signature
            )),
        ):  # fmt: skip
            assert response.status_code < 500, (where, response.text)
            fleet.keep(where, response)
        metrics = {"control plane /metrics": (await cp.client.get("/metrics")).text}
        for name, plane in fleet.planes.items():
            metrics[f"{name} /metrics"] = (await plane.client.get("/metrics")).text
            metrics[f"{name} /health"] = (await plane.client.get("/health")).text
    assert len(logs.lines) > 20  # the capture saw both planes at work
    # The bad-signature request echoed a secret as its *signature*: a response must not.
    # The test's own HTTP clients log their request lines (a verify token travels in the query
    # of Meta's handshake, by Meta's design); the planes' lines are all kept.
    ours = re.compile(r"^httpx INFO HTTP Request: \S+ http://(alpha|bravo|cp)\.test/")
    plane_lines = [line for line in logs.lines if not ours.match(line)]
    places = {"logs": "\n".join(plane_lines), **metrics, **fleet.seen}
    assert_no_secrets(places, fleet.secrets)
    # The data planes' cached copies of their configuration keep the secrets sealed.
    for tenant in (fleet.alpha, fleet.bravo):
        cached = [p for p in (tmp_path / tenant.id).rglob("*") if p.is_file() and p.suffix != ".db"]
        assert cached, tenant.id
        assert_no_secrets(
            {str(p): p.read_text(errors="replace") for p in cached},
            {k: v for k, v in fleet.secrets.items() if k != "cache_key"},
        )


async def test_a_tenant_key_cannot_aim_its_data_plane_at_another_plane(fleet: Fleet) -> None:
    """Hosted, each data plane and the control plane sit at internal addresses: with
    `CP_TENANT_URL_POLICY=public` (the default) a tenant key cannot point the URLs its own
    data plane calls at them (the other tenant's data plane, the control plane, a name that
    resolves inside the cluster). The admin set alpha's Graph URL; alpha's key keeps it."""
    cp, alpha = fleet.cp, fleet.alpha
    key = cp.auth(alpha.api_key)
    before = (await cp.client.get(f"/v1/tenants/{alpha.id}", headers=cp.admin)).json()
    cp.dns.table["bravo.fleet.example.com"] = ["10.42.0.17"]
    for url in (
        "http://dp-bravo.bots.svc.cluster.local:8002",
        "http://10.42.0.17:8002",
        "http://control-plane:8001",
        "http://bravo.fleet.example.com:8002",
        "http://[::ffff:10.42.0.17]:8002",
    ):
        channel = {**before["channel"], "graph_base_url": url}
        response = fleet.keep(
            f"PATCH {url}",
            await cp.client.patch(
                f"/v1/tenants/{alpha.id}", json={"channel": channel}, headers=key
            ),
        )
        assert response.status_code == 422, (url, response.text)
        assert response.json()["detail"].startswith("channel.graph_base_url: the URL's host")
    unchanged = await cp.client.patch(
        f"/v1/tenants/{alpha.id}", json={"channel": before["channel"]}, headers=key
    )
    assert unchanged.status_code == 200, unchanged.text
    after = (await cp.client.get(f"/v1/tenants/{alpha.id}", headers=cp.admin)).json()
    assert after["channel"] == before["channel"]
