"""Web chat HTTP API: `POST /inbound`, `GET /messages`, the chat page and the widget script.

A superset of the seed's `http_dev` channel. Replies come back in the `POST /inbound` response;
messages the bot sends on its own (reminders) are read from the outbox with `GET /messages`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import TypeAdapter, ValidationError

from botfleet.adapters.channels.degrade import degrade
from botfleet.adapters.channels.webchat.assets import (
    HTML_TYPE,
    PAGE_HEADERS,
    SCRIPT_HEADERS,
    SCRIPT_TYPE,
    load_assets,
)
from botfleet.adapters.channels.webchat.capabilities import WEBCHAT_CAPABILITIES
from botfleet.adapters.channels.webchat.schemas import (
    MAX_ID,
    SAFE_ID_PATTERN,
    InboundBody,
    InboundReply,
    MessagesPage,
    OutboxMessage,
)
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import output_to_dict
from botfleet.ports.channels import Capabilities, InboundHandler, TurnResult
from botfleet.ports.clock import Clock
from botfleet.ports.stores import OutboxStore

#: Largest `POST /inbound` body accepted; checked on Content-Length and on the bytes read.
MAX_BODY_BYTES = 64 * 1024
JSON_TYPE = "application/json"
#: Largest page of `GET /messages`.
MAX_PAGE = 500

ContactQuery = Annotated[
    str | None, Query(min_length=1, max_length=MAX_ID, pattern=SAFE_ID_PATTERN)
]
#: Sequence numbers are SQLite integers: a larger `since` is a 422, not an overflow in the store.
MAX_SEQ = 2**63 - 1
SinceQuery = Annotated[
    int, Query(ge=0, le=MAX_SEQ, description="Sequence number already seen (0: none).")
]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE)]
#: `POST /inbound?wait=false`: answer 202 once stored. Read by hand (`_wait_flag`) with
#: pydantic's own bool rules: a declared query parameter made FastAPI solve dependencies on
#: every turn (~13 us of a request's CPU).
WAIT_PARAMETER: dict[str, Any] = {
    "name": "wait",
    "in": "query",
    "required": False,
    "description": "false: answer 202 once the message is stored, process it in the "
    "background (replies then come from `GET /messages`)",
    "schema": {"type": "boolean", "default": True, "title": "Wait"},
}
_BOOL = TypeAdapter(bool)

_CONTACT_REQUIRED = {
    "type": "missing",
    "loc": ("query", "contact_id"),
    "msg": "Field required: this channel lists one contact's messages at a time",
    "input": None,
}


def build_router(
    handler: InboundHandler,
    outbox: OutboxStore,
    *,
    title: str,
    clock: Clock,
    capabilities: Capabilities | None = None,
    list_all_contacts: bool = False,
) -> APIRouter:
    """The web chat routes, to mount at the data plane's root or under a prefix.

    Args:
        handler: The runtime; `handle()` runs one turn and returns its replies.
        outbox: Where the runtime keeps every message it sent (read by `GET /messages`).
        title: Shown in the page header and the widget.
        clock: Source of inbound message timestamps.
        capabilities: What replies are fitted to; the runtime's sender should use the same
            (default `WEBCHAT_CAPABILITIES`).
        list_all_contacts: Allow `GET /messages` without `contact_id` (the seed's dev
            `curl /messages`). Off by default: it would show every contact's messages to anyone.
    """
    caps = capabilities or WEBCHAT_CAPABILITIES
    assets = load_assets(title)
    router = APIRouter(tags=["webchat"])

    @router.post(
        "/inbound",
        response_model=InboundReply,
        openapi_extra=_inbound_openapi(),
        responses={
            202: {"description": "Stored, processed in the background (`wait=false`)"},
            413: {"description": "Body over the size limit"},
        },
        summary="Send a message as a contact and get the bot's replies",
    )
    async def inbound(request: Request) -> InboundReply | Response:
        wait = _wait_flag(request.query_params.get("wait"))
        body = _parse_inbound(await _read_body(request, MAX_BODY_BYTES))
        message = to_message(body, clock.now())
        if not wait:
            accepted = await handler.accept(message)
            reply = InboundReply(message_id=message.message_id, duplicate=not accepted, replies=[])
            return JSONResponse(reply.model_dump(), status_code=202)
        result = await handler.handle(message)
        return Response(encode_reply(result, caps), media_type=JSON_TYPE)

    @router.get(
        "/messages",
        response_model=MessagesPage,
        summary="Messages the bot sent, oldest first, after the `since` cursor",
    )
    async def messages(
        contact_id: ContactQuery = None, since: SinceQuery = 0, limit: LimitQuery = 100
    ) -> MessagesPage:
        if contact_id is None and not list_all_contacts:
            raise RequestValidationError([_CONTACT_REQUIRED])
        rows = await outbox.since(contact_id=contact_id, since=since, limit=limit)
        found = [_outbox_message(row) for row in rows]
        return MessagesPage(messages=found, last=max((m.seq for m in found), default=since))

    @router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(assets.page, headers=PAGE_HEADERS, media_type=HTML_TYPE)

    @router.api_route("/chat.js", methods=["GET", "HEAD"], include_in_schema=False)
    async def chat_script() -> Response:
        return Response(assets.chat_js, headers=SCRIPT_HEADERS, media_type=SCRIPT_TYPE)

    @router.api_route("/widget.js", methods=["GET", "HEAD"], include_in_schema=False)
    async def widget_script() -> Response:
        return Response(assets.widget_js, headers=SCRIPT_HEADERS, media_type=SCRIPT_TYPE)

    return router


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = HTTPException(413, detail=f"request body is over the limit of {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, detail="Content-Length header is not a number")
        if int(declared) > limit:
            raise too_large
    body = bytearray()
    async for chunk in request.stream():  # a lying or absent Content-Length is caught here
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _parse_inbound(raw: bytes) -> InboundBody:
    try:
        return InboundBody.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        for error in errors:
            error["loc"] = ("body", *error["loc"])
        raise RequestValidationError(errors) from None


def encode_reply(result: TurnResult, capabilities: Capabilities) -> bytes:
    """The `POST /inbound` answer: an `InboundReply` as JSON, the replies fitted to the channel.

    Encoded here rather than through the route's `response_model` (which stays, for the
    schema): FastAPI would validate and serialise the reply again, on every turn.
    """
    answer = {
        "message_id": result.message_id,
        "duplicate": result.duplicate,
        "replies": [output_to_dict(o) for o in degrade(result.outputs, capabilities)],
    }
    return json.dumps(answer, separators=(",", ":")).encode()


def to_message(body: InboundBody, now: datetime) -> InboundMessage:
    """The runtime's message for a validated `POST /inbound` body received at `now`."""
    return InboundMessage(
        message_id=body.message_id or uuid4().hex,
        contact_id=body.contact_id,
        type=MessageType(body.type),
        timestamp=now,
        # a pressed option's label travels as its text, as WhatsApp's button replies do
        text=body.text if body.type == "text" else body.title,
        payload=body.payload,
        contact_name=body.contact_name,
    )


def _outbox_message(row: dict[str, Any]) -> OutboxMessage:
    at = row["at"]
    return OutboxMessage(
        seq=int(row["seq"]),
        contact_id=str(row["contact_id"]),
        at=at.isoformat() if isinstance(at, datetime) else str(at),
        output=dict(row["output"]),
    )


def _wait_flag(raw: str | None) -> bool:
    """`?wait=`, as FastAPI would parse a `bool` query parameter (422 naming it if invalid)."""
    if raw is None:
        return True
    try:
        return _BOOL.validate_python(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        for error in errors:
            error["loc"] = ("query", "wait", *error["loc"])
        raise RequestValidationError(errors) from None


def _inbound_openapi() -> dict[str, Any]:
    # The body and `wait` are read by hand (size limit first), so describe them explicitly.
    schema = InboundBody.model_json_schema()
    return {
        "parameters": [WAIT_PARAMETER],
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
    }
