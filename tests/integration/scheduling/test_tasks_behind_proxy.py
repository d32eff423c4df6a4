"""Without `DP_INTERNAL_TOKEN`, a request a reverse proxy on the same host forwarded reaches
the data plane from loopback but is not local: `/tasks` (contacts' phone numbers) and `/usage`
refuse it. Nor is a request that names the data plane by a DNS name: a web page on this machine
whose site's name was rebound to 127.0.0.1 sends it from loopback, with that name in `Host`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient, make_settings, running_app
from botfleet.testing.scheduling import ManualScheduler

FLOW = {"id": "proxied", "initial_state": "IDLE", "states": {"IDLE": {"fallback": "IDLE"}}}
TOKEN = "s3cret-internal-token"


async def _app(token: str | None) -> AsyncIterator[ChatClient]:
    clock = FrozenClock(datetime(2024, 5, 6, 7, 0, tzinfo=UTC))
    async with running_app(
        flow=FLOW,
        settings=make_settings(internal_token=token),
        clock=clock,
        scheduler=ManualScheduler(clock, tenant_id="test"),
    ) as app:
        yield app


@pytest.fixture
async def local_dev() -> AsyncIterator[ChatClient]:
    async for app in _app(None):
        yield app


@pytest.fixture
async def with_token() -> AsyncIterator[ChatClient]:
    async for app in _app(TOKEN):
        yield app


@pytest.mark.parametrize(
    "header",
    [
        {"X-Forwarded-For": "198.51.100.9"},
        {"Forwarded": "for=198.51.100.9;proto=https"},
        {"X-Real-IP": "198.51.100.9"},
    ],
)
@pytest.mark.parametrize("path", ["/tasks", "/usage"])
async def test_forwarded_requests_are_refused_without_a_token(
    local_dev: ChatClient, header: dict[str, str], path: str
) -> None:
    response = await local_dev.http.get(path, headers=header)
    assert response.status_code == 403
    assert "DP_INTERNAL_TOKEN" in response.text


async def test_a_local_request_without_forwarding_headers_still_answers(
    local_dev: ChatClient,
) -> None:
    assert (await local_dev.http.get("/tasks")).status_code == 200


async def test_with_a_token_a_forwarded_request_needs_only_the_token(
    with_token: ChatClient,
) -> None:
    headers = {"X-Forwarded-For": "198.51.100.9", "Authorization": f"Bearer {TOKEN}"}
    assert (await with_token.http.get("/tasks", headers=headers)).status_code == 200


@pytest.mark.parametrize("path", ["/tasks", "/usage"])
async def test_a_page_rebound_to_loopback_is_refused_without_a_token(
    local_dev: ChatClient, path: str
) -> None:
    response = await local_dev.http.get(path, headers={"Host": "attacker.example:8002"})
    assert response.status_code == 403
    assert "localhost or by IP address" in response.text
    assert "DP_INTERNAL_TOKEN" in response.text


@pytest.mark.parametrize("host", ["localhost:8002", "127.0.0.1:8002", "[::1]:8002"])
async def test_a_local_request_naming_this_machine_answers(
    local_dev: ChatClient, host: str
) -> None:
    assert (await local_dev.http.get("/usage", headers={"Host": host})).status_code == 200


async def test_with_a_token_any_host_name_is_answered(with_token: ChatClient) -> None:
    headers = {"Host": "dp.salon.example", "Authorization": f"Bearer {TOKEN}"}
    assert (await with_token.http.get("/tasks", headers=headers)).status_code == 200
