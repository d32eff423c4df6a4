"""The business's answer to a notification, as the flow gets it under `response`.

A receiver may answer a `send` with data the flow shows the contact (an order's status and
delivery day): a JSON object or array, sent as JSON (`application/json`, `application/*+json`)
and at most `MAX_RESPONSE_BYTES`, is kept; anything else is None, and the notification still
counts as delivered. The answer is the business's data about a contact, so nothing here logs
it, nor any part of it: the one log line (an answer too large) gives its size only.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import structlog

from botfleet.adapters.provider_api import ProviderReply

#: Largest answer kept for the flow (64 KiB): it is stored in the conversation's state and
#: rendered in messages, and an order or a ticket is a few hundred bytes.
MAX_RESPONSE_BYTES = 64 * 1024

log = structlog.get_logger("botfleet.connectors.webhook")


class WebhookReply(ProviderReply, Protocol):
    """A provider's answer with its body as received (`ProviderResponse`, `httpx.Response`)."""

    @property
    def content(self) -> bytes: ...


def response_of(reply: WebhookReply) -> dict[str, Any] | list[Any] | None:
    """The answer's JSON object or array; None when there is none to keep (not JSON, another
    JSON value, larger than `MAX_RESPONSE_BYTES`, unreadable)."""
    if not _is_json(reply.headers.get("content-type", "")):
        return None
    # A declared length says "too large" before the body is looked at; the length read counts
    # too, for a chunked answer or one whose header lies.
    declared = reply.headers.get("content-length", "").strip()
    size = int(declared) if declared.isdigit() else 0
    if size <= MAX_RESPONSE_BYTES:
        size = len(reply.content)
    if size > MAX_RESPONSE_BYTES:
        log.warning(
            "webhook_response_too_large",
            size_bytes=size,
            max_bytes=MAX_RESPONSE_BYTES,
            kept="none",
        )
        return None
    try:
        # NaN and Infinity are refused: the state that keeps the answer is strict JSON.
        value = json.loads(reply.content, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return value if isinstance(value, dict | list) else None


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
