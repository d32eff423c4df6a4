"""A notification on the wire: the flow's params, the JSON body, the Slack text, the signature
and the idempotency id. Pure: no I/O, no clock.

Body (`format: json`), compact UTF-8 JSON::

    {"id": "5f0c...", "event": "handoff_requested", "tenant_id": "salon",
     "contact_id": "+34600111222", "sent_at": "2024-05-06T07:00:00Z",
     "data": {"name": "Ana", "message": "I'd rather talk to someone"}}

(`text` too when the flow gives one.) `format: slack` sends ``{"text": ...}`` instead.

Headers: `Idempotency-Key` (= `id`, the same for every retry of one flow action, and when
the same message is processed again after a crash), `X-Botfleet-Event`, `X-Botfleet-Timestamp`
(Unix seconds of this attempt) and, with a `secret`, `X-Botfleet-Signature: v1=<hex>`, the
HMAC-SHA256 with the secret of ``f"{timestamp}." + body``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botfleet.domain.errors import ConnectorRejected

IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Botfleet-Event"
TIMESTAMP_HEADER = "X-Botfleet-Timestamp"
SIGNATURE_HEADER = "X-Botfleet-Signature"
SIGNATURE_VERSION = "v1"
USER_AGENT = "botfleet-webhook/1"

#: Params with a place of their own in the body; every other param goes under `data`.
RESERVED_PARAMS = ("event", "contact_id", "text")
#: An event name: also sent as a header, so plain ASCII.
_EVENT = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
#: A tenant id as the tenant config allows it (no ':'), the first part of the engine's keys.
_TENANT = re.compile(r"[A-Za-z0-9_.-]+")
#: Longest Slack text sent (Slack advises 4,000 characters; the rest is cut with "…").
SLACK_TEXT_MAX = 4000


@dataclass(frozen=True, slots=True)
class Notification:
    """What the flow asked to send (`send`'s params)."""

    event: str
    contact_id: str | None
    text: str | None
    data: dict[str, Any]


def parse_params(params: Mapping[str, Any]) -> Notification:
    """The notification in `params`; a `ConnectorRejected` naming the param when one is wrong
    (a mistake in the flow: never retried). Messages never repeat values, nor name the call
    (`notification.send`): whoever reports the error does (`connector_failed`)."""
    event = params.get("event")
    if event is None or event == "":
        raise ConnectorRejected(
            "param 'event' is missing: name what happened, e.g. event: handoff_requested"
        )
    if not isinstance(event, str) or not _EVENT.fullmatch(event):
        raise ConnectorRejected(
            "param 'event' must be a name such as handoff_requested (letters, "
            "digits and _ . : -, up to 100)"
        )
    contact = params.get("contact_id")
    if isinstance(contact, bool) or not isinstance(contact, str | int | None):
        raise ConnectorRejected("param 'contact_id' must be text, e.g. {{contact.id}}")
    text = params.get("text")
    if isinstance(text, bool) or not isinstance(text, str | int | float | None):
        raise ConnectorRejected("param 'text' must be text")
    data = {k: v for k, v in params.items() if k not in RESERVED_PARAMS}
    return Notification(
        event=event,
        contact_id=None if contact in (None, "") else str(contact),
        text=None if text in (None, "") else str(text),
        data=data,
    )


def notification_id(idempotency_key: str) -> str:
    """The notification's id, from the call's idempotency key: the same for every retry, and
    opaque (keys hold contact ids). A call without a key gets a random id."""
    if not idempotency_key:
        return uuid.uuid4().hex
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def queued_answer(idempotency_key: str) -> dict[str, Any]:
    """What a flow gets for a `send` kept to be sent again (`redeliver_for`): not delivered
    yet; `id` is the one it will carry."""
    return {
        "delivered": False,
        "queued": True,
        "status": None,
        "id": notification_id(idempotency_key),
        "response": None,
    }


def tenant_of(idempotency_key: str) -> str | None:
    """The tenant id the engine puts first in its keys (``<tenant>:<contact>:<request>``,
    `flows/actions.py`); None for a key of another shape."""
    tenant, colon, _rest = idempotency_key.partition(":")
    return tenant if colon and _TENANT.fullmatch(tenant) else None


def utc_text(moment: datetime) -> str:
    """``2024-05-06T07:00:00Z``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def json_body(
    notification: Notification, *, notification_id: str, tenant_id: str | None, sent_at: datetime
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": notification_id,
        "event": notification.event,
        "tenant_id": tenant_id,
        "contact_id": notification.contact_id,
        "sent_at": utc_text(sent_at),
        "data": notification.data,
    }
    if notification.text is not None:
        body["text"] = notification.text
    return body


def slack_escape(text: str) -> str:
    """Slack's three control characters as entities: what a contact typed can then neither
    mention (``<!channel>``) nor make links; `*bold*` and line breaks still work."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(notification: Notification) -> str:
    """The flow's `text`, else the event, the contact and one line per data item."""
    if notification.text is not None:
        text = notification.text
    else:
        head = f"*{notification.event}*"
        if notification.contact_id is not None:
            head += f" (contact {notification.contact_id})"
        lines = [head]
        for key, value in notification.data.items():
            shown = value if isinstance(value, str) else _compact(value)
            lines.append(f"• {key}: {shown}")
        text = "\n".join(lines)
    text = slack_escape(text)
    if len(text) > SLACK_TEXT_MAX:
        text = text[: SLACK_TEXT_MAX - 1] + "…"
    return text


def slack_body(notification: Notification) -> dict[str, Any]:
    return {"text": slack_text(notification)}


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def encode(body: Mapping[str, Any]) -> bytes:
    """The body as sent (and signed): compact UTF-8 JSON."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise ConnectorRejected("a param is not plain JSON data") from None
    return text.encode()


@dataclass(frozen=True, slots=True)
class Prepared:
    """One `send` call ready for the wire: what the flow asked, the notification's id, the body
    (`format: json` or `slack`) and its bytes as sent and signed."""

    notification: Notification
    id: str
    body: dict[str, Any]
    raw: bytes


def prepare(
    params: Mapping[str, Any],
    *,
    idempotency_key: str,
    format: str,
    sent_at: datetime,
) -> Prepared:
    """Everything `send` does before the request: the params checked (`parse_params`), the id,
    the body and its encoding. The webhook and the recorder of `botfleet chat`/`test` both run
    it, so a call one refuses the other refuses too, with the same `ConnectorRejected`."""
    notification = parse_params(params)
    the_id = notification_id(idempotency_key)
    if format == "slack":
        body = slack_body(notification)
    else:
        body = json_body(
            notification,
            notification_id=the_id,
            tenant_id=tenant_of(idempotency_key),
            sent_at=sent_at,
        )
    return Prepared(notification, the_id, body, encode(body))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`X-Botfleet-Signature`'s value: ``v1=`` and the hex HMAC-SHA256 of
    ``f"{timestamp}."`` + body, keyed with the secret's UTF-8 bytes."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"
