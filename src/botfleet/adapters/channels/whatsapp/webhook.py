"""WhatsApp webhook routes: the `GET /webhook` handshake and signed `POST /webhook` deliveries.

A delivery is answered 200 as soon as its messages are in the journal (`accept()`); the turns
run afterwards, so a slow turn never makes Meta redeliver. Redeliveries carry the same `wamid`
and the journal drops them; a message or a status callback older than Meta ever redelivers is
dropped before it (`freshness`). The signature is checked on the raw bytes before anything is
parsed: an unsigned or wrongly signed request is refused (401/403) and nothing of it is
processed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

import structlog
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from botfleet.adapters.channels.webhook_body import decode_json
from botfleet.adapters.channels.whatsapp.freshness import fresh_messages, fresh_statuses
from botfleet.adapters.channels.whatsapp.metrics import log_graph_error, log_status
from botfleet.adapters.channels.whatsapp.parse import WebhookBatch, parse_webhook
from botfleet.adapters.channels.whatsapp.send import WhatsAppCloudSender
from botfleet.adapters.channels.whatsapp.settings import WhatsAppSettings
from botfleet.adapters.channels.whatsapp.signature import (
    SIGNATURE_HEADER,
    MalformedSignature,
    MissingSignature,
    WrongVerifyToken,
    verify_signature,
    verify_subscription,
)
from botfleet.domain.errors import InvalidSignature
from botfleet.domain.messages import InboundMessage
from botfleet.json_text import json_bytes
from botfleet.ports.clock import Clock
from botfleet.web import Operation, query_of, read_body

log = structlog.get_logger("botfleet.channels.whatsapp")

#: Largest webhook body accepted (Meta's are a few kilobytes).
MAX_WEBHOOK_BYTES = 1024 * 1024
MAX_CHALLENGE = 256


class WebhookRuntime(Protocol):
    """What the webhook needs from the data plane runtime."""

    @property
    def sender(self) -> object:
        """The channel's sender (a `WhatsAppCloudSender` outside of tests with fakes)."""
        ...

    async def accept(self, message: InboundMessage, *, admitted: bool = False) -> bool:
        """Persist and queue a message; False when it was seen before. Raises `Overloaded`
        while the backlog is full, unless `admitted` (a later message of the same delivery)."""
        ...

    def after_turns(self, contact_id: str, job: Callable[[], Awaitable[object]]) -> None:
        """Run `job` once the contact's queued turns are done (read receipts)."""
        ...


class Handshake(BaseModel):
    """The query of Meta's `GET` subscription handshake."""

    mode: str | None = Field(default=None, alias="hub.mode")
    token: str | None = Field(default=None, alias="hub.verify_token")
    challenge: str = Field(default="", alias="hub.challenge", max_length=MAX_CHALLENGE)


def build_routes(
    settings: WhatsAppSettings, runtime: WebhookRuntime, *, clock: Clock, path: str = "/webhook"
) -> list[Operation]:
    """The webhook routes for one WhatsApp number (register `path` in the Meta app)."""
    verify_token = settings.verify_token.get_secret_value()
    app_secret = settings.app_secret.get_secret_value()

    async def verify(request: Request) -> Response:
        # The token first, read as `query_of` reads it (the last of a repeated name): a caller
        # without it gets a 403 whatever else the query holds, and nothing of it echoed back.
        params = request.query_params
        mode = params.get("hub.mode")
        try:
            verify_subscription(mode, params.get("hub.verify_token"), verify_token)
        except WrongVerifyToken:
            log.warning("whatsapp_verify_rejected", mode=None if mode is None else mode[:40])
            raise HTTPException(403, detail="webhook verification failed") from None
        challenge = query_of(Handshake, request).challenge
        if not challenge:
            raise HTTPException(400, detail="hub.challenge is missing")
        log.info("whatsapp_webhook_verified")
        # Echoed input: plain text that browsers must not sniff into something else.
        return PlainTextResponse(challenge, headers={"X-Content-Type-Options": "nosniff"})

    async def receive(request: Request) -> Response:
        body = await read_body(request, MAX_WEBHOOK_BYTES)
        try:
            verify_signature(body, request.headers.get(SIGNATURE_HEADER), app_secret)
        except MissingSignature:
            log.warning("whatsapp_signature_missing")
            raise HTTPException(401, detail=f"missing {SIGNATURE_HEADER}") from None
        except InvalidSignature as exc:
            # Which of the two tells a wrong app secret from a header changed on the way.
            header = "malformed" if isinstance(exc, MalformedSignature) else "mismatch"
            log.warning("whatsapp_signature_invalid", header=header)
            raise HTTPException(403, detail=f"invalid {SIGNATURE_HEADER}") from None
        now = clock.now()
        batch = parse_webhook(
            decode_json(body), phone_number_id=settings.phone_number_id, received_at=now
        )
        accepted = await deliver(batch, runtime, mark_read=settings.mark_as_read, received_at=now)
        return Response(encode_answer(batch, accepted), media_type=JSONResponse.media_type)

    tags = ("whatsapp",)
    return [
        Operation(
            "GET",
            path,
            verify,
            summary="Meta's subscription handshake",
            tags=tags,
            query=Handshake,
            responses={403: "Wrong verify token", 400: "No challenge"},
        ),
        Operation(
            "POST",
            path,
            receive,
            summary="Meta's webhook deliveries (messages and statuses), signed with the app secret",
            tags=tags,
            responses={401: "No signature", 403: "Bad signature"},
        ),
    ]


def encode_answer(batch: WebhookBatch, accepted: int) -> bytes:
    """The 200 answer's body (the route's and `WebhookFastPath`'s), as `JSONResponse` renders."""
    answer = {
        "received": len(batch.messages),
        "accepted": accepted,
        "statuses": len(batch.statuses),
    }
    return json_bytes(answer)


async def deliver(
    batch: WebhookBatch, runtime: WebhookRuntime, *, mark_read: bool, received_at: datetime
) -> int:
    """Journal and queue the batch's messages (read receipts after their turns), record its
    statuses and errors; the number of messages new to the journal. Messages and statuses too
    old for Meta to be redelivering them at `received_at` (`fresh_messages`,
    `fresh_statuses`) are logged and left out."""
    sender = runtime.sender
    whatsapp = sender if isinstance(sender, WhatsAppCloudSender) else None
    contacts = whatsapp.contacts if whatsapp is not None else None
    for status in fresh_statuses(batch.statuses, received_at, contacts):
        if whatsapp is not None:
            whatsapp.record_status(status)
        else:
            log_status(status)
    for error in batch.errors:
        if whatsapp is not None:
            whatsapp.metrics.record_change_error(error, whatsapp.contacts)
        else:
            log_graph_error(error.error, None, source="webhook")
    if whatsapp is not None:
        whatsapp.numbers.observe(batch)
    if batch.skipped:
        log.info("whatsapp_webhook_skipped", count=batch.skipped, reasons=list(batch.notes[:10]))
    accepted = 0
    for position, message in enumerate(fresh_messages(batch.messages, received_at, contacts)):
        # Taken before the turn is queued: the receipt can tell a failure of the turn's reply
        # from one that came before the message.
        receipt = None
        if whatsapp is not None and mark_read:
            receipt = whatsapp.read_receipt(message.message_id, message.contact_id)
        # The backlog is checked at the first message only: a full backlog refuses the delivery
        # whole (503, nothing stored), never half of it.
        if not await runtime.accept(message, admitted=position > 0):
            log.info("whatsapp_duplicate_ignored", message_id=message.message_id)
            continue
        accepted += 1
        if receipt is not None:
            runtime.after_turns(message.contact_id, receipt)
    return accepted
