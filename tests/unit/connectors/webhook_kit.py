"""Shared pieces of the webhook connector's unit tests: a recording receiver behind an httpx
mock transport (no network), a fixed clock, and the docs' verification snippet."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from botfleet.adapters.connectors.notification.webhook import WebhookConnector, build
from botfleet.adapters.provider_httpx import HttpxProvider

DOCS = Path(__file__).parents[3] / "docs" / "connectors.md"
URL = "https://hooks.example.com/botfleet/salon"
SECRET = "whsec-S3cr3t-never-shown"
TOKEN = "tok-S3cr3t-never-shown"
KEY = "salon:+34600111222:m-1/state:HANDOFF_SEND/0"
NOW = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)


class FixedClock:
    def __init__(self, at: datetime = NOW) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class Answer:
    """One scripted answer: a status and headers, after `delay_s`; or an httpx error."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    error: type[httpx.HTTPError] | None = None


@dataclass
class Receiver:
    """Records every request; answers from `script` in order (the last one repeats)."""

    script: list[Answer] = field(default_factory=lambda: [Answer()])
    requests: list[httpx.Request] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.script[min(len(self.requests), len(self.script)) - 1]
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        if answer.error is not None:
            raise answer.error("scripted", request=request)
        return httpx.Response(answer.status, headers=answer.headers, text="ok")

    @property
    def bodies(self) -> list[bytes]:
        return [r.content for r in self.requests]


def webhook(
    receiver: Receiver | None = None, *, clock: FixedClock | None = None, **settings: Any
) -> tuple[WebhookConnector, Receiver]:
    """A `webhook` connector whose requests go to `receiver` (a fresh one by default)."""
    receiver = receiver or Receiver()
    client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    connector = build(
        {"url": URL, **settings}, clock=clock or FixedClock(), http=HttpxProvider(client)
    )
    return connector, receiver


def docs_block(marker: str) -> str:
    """The fenced code block that follows ``<!-- example: marker -->`` in docs/connectors.md."""
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(
        rf"<!-- example: {re.escape(marker)} -->\s*```[a-z]*\n(.*?)\n```", text, re.DOTALL
    )
    assert found, f"docs/connectors.md has no block marked {marker!r}"
    return found.group(1)


def documented_verifier() -> Callable[..., bool]:
    """`verify_botfleet_signature` exactly as docs/connectors.md shows it."""
    namespace: dict[str, Any] = {}
    exec(compile(docs_block("verify-signature"), str(DOCS), "exec"), namespace)
    verify: Callable[..., bool] = namespace["verify_botfleet_signature"]
    return verify
