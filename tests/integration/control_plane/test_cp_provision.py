"""`provision_tenant` (``botfleet cp provision``, the demo) re-run with changed files: it moves a
tenant off a connector, onto one, and from one to another (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from cp_harness import ADMIN_KEY, ControlPlane

from botfleet.adapters.connectors.catalog import NOT_CONNECTORS
from botfleet.control_plane.client import ControlPlaneClient
from botfleet.control_plane.provision import (
    NOT_FLOW_CONNECTORS,
    ProvisionResult,
    TenantFiles,
    provision_tenant,
)

CALLS = """\
id: shop
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: invoke_connector
        connector: {category}
        operation: {operation}
        result_key: found
    transitions:
      - on_payload: again
        target: MENU
    fallback: MENU
"""
CALLS_CALENDAR = CALLS.format(category="calendar", operation="get_available_days")
CALLS_MOCK = CALLS.format(category="mock", operation="lookup")
CALLS_NOTHING = """\
id: shop
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: "We no longer take bookings online"
    fallback: MENU
"""
CALENDAR = "  calendar:\n    type: mock\n"
MOCK = "  mock:\n    type: mock\n"


Provision = Callable[[str, str], Awaitable[ProvisionResult]]


class _LoopTransport(httpx.BaseTransport):
    """Lets the synchronous `ControlPlaneClient`, run in a worker thread, reach the in-process
    app through the test's async client (on the test's event loop)."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client, self._loop = client, loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=request.read()
            )
            return await self._client.send(forwarded)

        answer = asyncio.run_coroutine_threadsafe(send(), self._loop).result(timeout=30)
        headers = {
            k: v
            for k, v in answer.headers.items()
            if k.lower() not in {"content-encoding", "content-length", "transfer-encoding"}
        }
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)


@pytest.fixture
def provision(cp: ControlPlane, tmp_path: Path) -> Provision:
    """`await provision(flow, connectors_yaml)`: write the tenant's files and provision them."""

    async def run(flow: str, connectors: str) -> ProvisionResult:
        (tmp_path / "flow.yaml").write_text(flow, encoding="utf-8")
        (tmp_path / "tenant.yaml").write_text(
            "tenant_id: shop\nflow_path: flow.yaml\nchannel:\n  type: http_dev\n"
            + (f"connectors:\n{connectors}" if connectors else ""),
            encoding="utf-8",
        )
        transport = _LoopTransport(cp.client, asyncio.get_running_loop())

        def call() -> ProvisionResult:
            with ControlPlaneClient("http://cp.test", ADMIN_KEY, transport=transport) as client:
                return provision_tenant(client, TenantFiles.load(tmp_path / "tenant.yaml"))

        return await asyncio.to_thread(call)

    return run


async def _state(cp: ControlPlane) -> tuple[list[str], int | None]:
    tenant = (await cp.client.get("/v1/tenants/shop", headers=cp.admin)).json()
    return sorted(tenant["connectors"]), tenant["published_flow_version"]


def test_the_connectors_no_flow_calls_match_the_catalog() -> None:
    assert NOT_FLOW_CONNECTORS == NOT_CONNECTORS


async def test_reprovisioning_drops_a_connector_the_old_flow_called(
    cp: ControlPlane, provision: Provision
) -> None:
    first = await provision(CALLS_CALENDAR, CALENDAR)
    assert first.flow_version == 1
    assert await _state(cp) == (["calendar"], 1)

    second = await provision(CALLS_NOTHING, "")

    assert (second.flow_version, second.flow_uploaded) == (2, True)
    assert await _state(cp) == ([], 2)
    again = await provision(CALLS_NOTHING, "")
    assert (again.flow_version, again.flow_uploaded) == (2, False)
    assert await _state(cp) == ([], 2)


async def test_reprovisioning_adds_and_swaps_connectors(
    cp: ControlPlane, provision: Provision
) -> None:
    await provision(CALLS_NOTHING, "")
    await provision(CALLS_CALENDAR, CALENDAR)
    assert await _state(cp) == (["calendar"], 2)
    # calendar -> mock in one run: bound before the new flow, unbound after it.
    swapped = await provision(CALLS_MOCK, MOCK)
    assert swapped.flow_version == 3
    assert await _state(cp) == (["mock"], 3)


async def test_reprovisioning_moves_a_flow_between_named_bindings(
    cp: ControlPlane, provision: Provision
) -> None:
    """A tenant file binding several calendars under names (`calendar.chair_2`) is provisioned
    as written, and a run moving the flow to another name swaps the bindings in one go."""
    chair = CALLS.format(category="calendar.chair_{n}", operation="get_available_days")
    named = "  calendar:\n    type: mock\n  calendar.chair_{n}:\n    type: mock\n"
    await provision(chair.format(n=2), named.format(n=2))
    assert await _state(cp) == (["calendar", "calendar.chair_2"], 1)
    moved = await provision(chair.format(n=3), named.format(n=3))
    assert moved.flow_version == 2
    assert await _state(cp) == (["calendar", "calendar.chair_3"], 2)


async def test_a_tenant_files_more_channels_are_provisioned_and_their_changes_told(
    cp: ControlPlane, tmp_path: Path
) -> None:
    (tmp_path / "flow.yaml").write_text(CALLS_NOTHING, encoding="utf-8")
    transport = _LoopTransport(cp.client, asyncio.get_running_loop())

    async def apply(more_channels: str) -> ProvisionResult:
        (tmp_path / "tenant.yaml").write_text(
            "tenant_id: shop\nflow_path: flow.yaml\nchannel:\n  type: whatsapp\n"
            f'  phone_number_id: "42"\nmore_channels:\n{more_channels}',
            encoding="utf-8",
        )

        def call() -> ProvisionResult:
            with ControlPlaneClient("http://cp.test", ADMIN_KEY, transport=transport) as client:
                return provision_tenant(client, TenantFiles.load(tmp_path / "tenant.yaml"))

        return await asyncio.to_thread(call)

    await apply("  - type: telegram\n    bot_username: shop_bot\n")
    tenant = (await cp.client.get("/v1/tenants/shop", headers=cp.admin)).json()
    assert tenant["more_channels"] == [{"type": "telegram", "bot_username": "shop_bot"}]

    changed = await apply("  - type: telegram\n    bot_username: shop2_bot\n  - type: webchat\n")

    assert changed.settings_changed == (
        "more_channels: telegram.bot_username 'shop_bot' -> 'shop2_bot'; added webchat",
    )
    tenant = (await cp.client.get("/v1/tenants/shop", headers=cp.admin)).json()
    assert [b["type"] for b in tenant["more_channels"]] == ["telegram", "webchat"]
    again = await apply("  - type: telegram\n    bot_username: shop2_bot\n  - type: webchat\n")
    assert again.settings_changed == ()
