"""CPU per provider API call: the data plane's client against httpx's own pool, same fake server.

    uv run python -m bench.provider_http [--requests 4000]

A WhatsApp turn makes two Graph API calls (the reply and the read receipt), and while a backlog
drains the data plane spends much of its CPU in them (docs/benchmarks.md). This measures what
one call costs the caller: `POST /v19.0/<id>/messages` with a small JSON body to
bench/_fake_graph.py (its own process, so only the client's CPU is counted), through
`botfleet.adapters.provider_http.provider_http_client()` (what the senders use: aiohttp behind
a JSON POST), against the baseline, httpx with its own pool (httpcore over anyio, what the
senders used until 2026-12-03), and, for the floor, aiohttp called directly; then a whole
`WhatsAppCloudSender.call` (retries, classification, metrics) on each of the two clients. One
call at a time and 64 at once, on uvloop as the data plane runs. No target.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from time import process_time

import httpx
import uvloop
from prometheus_client import CollectorRegistry

from bench._proc import REPO_ROOT, free_port, machine_check, start
from bench._report import Check, emit
from botfleet.adapters.channels.whatsapp.metrics import WhatsAppMetrics
from botfleet.adapters.channels.whatsapp.send import WhatsAppCloudSender
from botfleet.adapters.channels.whatsapp.settings import WhatsAppSettings
from botfleet.adapters.provider_api import ProviderHttp
from botfleet.adapters.provider_http import provider_http_client
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.observability import configure_logging

BODY = {
    "messaging_product": "whatsapp",
    "to": "16505551234",
    "type": "text",
    "text": {"body": "hi"},
}
CONCURRENCY = (1, 64)


async def _cpu_per_call(call: Callable[[], Awaitable[None]], concurrency: int, n: int) -> float:
    async def worker(count: int) -> None:
        for _ in range(count):
            await call()

    await asyncio.gather(*(worker(20) for _ in range(concurrency)))  # connections opened
    started = process_time()
    await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
    return (process_time() - started) / (n // concurrency * concurrency) * 1e6


async def provider_client(url: str, concurrency: int, n: int) -> float:
    async with provider_http_client() as client:

        async def call() -> None:
            response = await client.post(url, json=BODY)
            assert response.status_code == 200, response.status_code

        return await _cpu_per_call(call, concurrency, n)


async def _sender_calls(client: ProviderHttp, base_url: str, concurrency: int, n: int) -> float:
    settings = WhatsAppSettings.model_validate(
        {
            "phone_number_id": "123",
            "access_token": "token",
            "app_secret": "secret",
            "verify_token": "verify",
            "graph_base_url": base_url,
        }
    )
    sender = WhatsAppCloudSender(settings, client, metrics=WhatsAppMetrics(CollectorRegistry()))

    async def call() -> None:
        outcome = await sender.call(BODY, kind="text")
        assert outcome.ok, outcome

    return await _cpu_per_call(call, concurrency, n)


async def sender_on_provider_client(base_url: str, concurrency: int, n: int) -> float:
    async with provider_http_client() as client:
        return await _sender_calls(client, base_url, concurrency, n)


async def sender_on_httpx(base_url: str, concurrency: int, n: int) -> float:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    async with httpx.AsyncClient(transport=transport, timeout=10.0) as client:
        return await _sender_calls(HttpxProvider(client), base_url, concurrency, n)


async def httpx_client(url: str, concurrency: int, n: int) -> float:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    async with httpx.AsyncClient(transport=transport, timeout=10.0) as client:

        async def call() -> None:
            (await client.post(url, json=BODY)).raise_for_status()

        return await _cpu_per_call(call, concurrency, n)


async def aiohttp_client(url: str, concurrency: int, n: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def call() -> None:
            async with session.post(url, json=BODY) as response:
                response.raise_for_status()
                await response.read()

        return await _cpu_per_call(call, concurrency, n)


def measure(requests: int) -> list[Check]:
    checks: list[Check] = []
    with tempfile.TemporaryDirectory(prefix="botfleet-provider-http-") as folder:
        port = free_port()
        argv = ["-m", "bench._fake_graph", "--port", str(port)]
        env = {"PYTHONPATH": str(REPO_ROOT)}
        with start("fake-graph", argv, port=port, workdir=Path(folder), env=env) as graph:
            graph.wait_ready("/health")
            url = f"{graph.url}/v19.0/123/messages"
            for concurrency in CONCURRENCY:
                ours = uvloop.run(provider_client(url, concurrency, requests))
                base = uvloop.run(httpx_client(url, concurrency, requests))
                floor = uvloop.run(aiohttp_client(url, concurrency, requests))
                sender = uvloop.run(sender_on_provider_client(graph.url, concurrency, requests))
                sender_base = uvloop.run(sender_on_httpx(graph.url, concurrency, requests))
                print(
                    f"{concurrency:3d} at once: provider client {ours:6.0f} us, httpx's own pool "
                    f"{base:6.0f} us ({base / ours:.1f}x), aiohttp alone {floor:6.0f} us per call;"
                    f" a sender's call {sender:6.0f} us on the provider client,"
                    f" {sender_base:6.0f} us on httpx ({sender_base / sender:.1f}x)"
                )
                checks += [
                    Check(f"provider client, {concurrency} at once", f"{ours:.0f} us CPU per call"),
                    Check(f"httpx's pool, {concurrency} at once", f"{base:.0f} us CPU per call"),
                    Check(f"speed-up, {concurrency} at once", f"{base / ours:.1f}x"),
                    Check(f"aiohttp alone, {concurrency} at once", f"{floor:.0f} us CPU per call"),
                    Check(
                        f"sender call on the provider client, {concurrency} at once",
                        f"{sender:.0f} us CPU per call",
                    ),
                    Check(
                        f"sender call on httpx's pool, {concurrency} at once",
                        f"{sender_base:.0f} us CPU per call ({sender_base / sender:.1f}x)",
                    ),
                ]
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000, help="calls per figure")
    args = parser.parse_args(argv)
    configure_logging("warning", json=True)  # the senders' debug lines are not the figure
    return emit("provider_http", [*measure(args.requests), machine_check()])


if __name__ == "__main__":
    sys.exit(main())
