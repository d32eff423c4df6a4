"""Schemathesis over every operation of the data plane's OpenAPI document: no 5xx, no hang.

Three data planes cover every route: the demo tenant on the web chat (its mock calendar and
mock LLM behind the flow, an internal token set), and a tenant on each real channel (WhatsApp,
Telegram; their provider APIs played in-process). Cases go through httpx's ASGI transport from
a background event loop, like the control plane's fuzz test (schemathesis' own transport does
not work in this environment). Half of the negative cases go without the internal token.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from botfleet.domain.tenant_config import load_tenant_config
from botfleet.testing.runtime import make_settings, running_app

sys.path.insert(0, str(Path(__file__).parents[1] / "channels"))
from channel_harness import (  # the channel harness lives next to its tests
    TELEGRAM_CHANNEL,
    WHATSAPP_CHANNEL,
    bot_api,
    channel_app,
    graph_api,
)

DEMO = Path(__file__).parents[3] / "examples" / "tenants" / "demo.yaml"
TOKEN = "internal-token-for-the-fuzz-test-0123456789"
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
EXAMPLES_PER_MODE = 10
#: A call that takes longer than this is a hang (the slowest real one is a demo turn, ~ms).
CALL_TIMEOUT_S = 5.0


@contextlib.asynccontextmanager
async def _webchat(tmp: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = load_tenant_config(DEMO)
    dp_settings = make_settings(tmp / "state.db", internal_token=TOKEN, data_dir=tmp)
    async with running_app(config, settings=dp_settings) as chat:
        yield chat.http


@contextlib.asynccontextmanager
async def _channel(kind: str) -> AsyncIterator[httpx.AsyncClient]:
    channel, provider = (
        (WHATSAPP_CHANNEL, graph_api()) if kind == "whatsapp" else (TELEGRAM_CHANNEL, bot_api())
    )
    async with channel_app(channel, provider) as dp:
        yield dp.client


@pytest.fixture(scope="module", params=["webchat", "whatsapp", "telegram"])
def running_dp(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BlockingPortal, httpx.AsyncClient, str]]:
    with start_blocking_portal() as portal, contextlib.ExitStack() as stack:
        if request.param == "webchat":
            app = _webchat(tmp_path_factory.mktemp("dp-fuzz"))
        else:
            app = _channel(request.param)
        client = stack.enter_context(portal.wrap_async_context_manager(app))
        yield portal, client, request.param


async def _request(client: httpx.AsyncClient, kwargs: dict[str, Any]) -> httpx.Response:
    return await asyncio.wait_for(client.request(**kwargs), CALL_TIMEOUT_S)


def _send(
    portal: BlockingPortal, client: httpx.AsyncClient, case: schemathesis.Case, *, token: bool
) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    headers = dict(kwargs.get("headers") or {})
    if token:
        headers["Authorization"] = f"Bearer {TOKEN}"
    kwargs["headers"] = headers
    kwargs.pop("cookies", None)
    data = kwargs.pop("data", None)
    if isinstance(data, str | bytes):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    return portal.call(functools.partial(_request, client, kwargs))


def _fuzzer(
    portal: BlockingPortal,
    client: httpx.AsyncClient,
    operation: Any,
    mode: GenerationMode,
    statuses: list[int],
) -> Any:
    """A hypothesis test sending `operation`'s cases in `mode`, recording their statuses."""
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: schemathesis.Case) -> None:
        nonlocal sent
        sent += 1
        with_token = mode is GenerationMode.POSITIVE or sent % 2 == 0
        response = _send(portal, client, case, token=with_token)
        statuses.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error])

    return fuzz


def test_no_data_plane_route_answers_5xx_or_hangs(
    running_dp: tuple[BlockingPortal, httpx.AsyncClient, str],
) -> None:
    portal, client, kind = running_dp
    spec: dict[str, Any] = portal.call(client.get, "/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    # Every plane has its operational routes; each channel adds its own.
    assert {"GET /health", "GET /tasks", "POST /run-task", "GET /usage"} <= labels, labels
    expected = {
        "webchat": {"POST /inbound", "GET /messages"},
        "whatsapp": {"GET /webhook", "POST /webhook"},
        "telegram": {"POST /webhook"},
    }[kind]
    assert expected <= labels, labels

    statuses: dict[str, list[int]] = {label: [] for label in labels}
    for operation in operations:
        for mode in MODES:
            try:
                _fuzzer(portal, client, operation, mode, statuses[operation.label])()
            except Unsatisfiable:
                # Nothing to make invalid (no parameters and no body): only positive cases.
                assert mode is GenerationMode.NEGATIVE, operation.label

    # Every operation was called, and the fuzzing got past validation into the handlers.
    assert all(statuses[label] for label in labels), statuses
    successes = sum(200 <= s < 300 for codes in statuses.values() for s in codes)
    assert successes >= len(labels) // 2, statuses
    # The plane still answers normally afterwards.
    assert portal.call(client.get, "/health").status_code == 200


async def test_a_cursor_beyond_sqlite_integers_is_a_422_naming_it(tmp_path: Path) -> None:
    # Found by the fuzzing above: `since=2**63` overflowed in the store (a 500).
    async with _webchat(tmp_path) as client:
        response = await client.get("/messages", params={"contact_id": "ana", "since": 2**63})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "since"]
        ok = await client.get("/messages", params={"contact_id": "ana", "since": 2**63 - 1})
        assert ok.status_code == 200
        assert ok.json()["messages"] == []
