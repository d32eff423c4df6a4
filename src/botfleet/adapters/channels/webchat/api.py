"""Web chat HTTP API: `POST /inbound`, `GET /messages`, the chat page and the widget script.

A superset of the seed's `http_dev` channel. Replies come back in the `POST /inbound` response;
messages the bot sends on its own (reminders) are read from the outbox with `GET /messages`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import uuid4

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from botfleet.adapters.channels.option_ids import PREFIX, positional_press
from botfleet.adapters.channels.webchat.answer_schema import InboundReply, MessagesPage
from botfleet.adapters.channels.webchat.assets import (
    HTML_TYPE,
    SCRIPT_HEADERS,
    SCRIPT_TYPE,
    VERSIONED_SCRIPT_HEADERS,
    load_assets,
)
from botfleet.adapters.channels.webchat.capabilities import WEBCHAT_CAPABILITIES
from botfleet.adapters.channels.webchat.cross_site import REFUSED, unasked_page_post
from botfleet.adapters.channels.webchat.greeting import Greeting
from botfleet.adapters.channels.webchat.loopback import from_this_machine
from botfleet.adapters.channels.webchat.replies import encode_reply, sendable_output
from botfleet.adapters.channels.webchat.schemas import (
    MAX_ID,
    SAFE_ID_PATTERN,
    SAFE_ID_RULE,
    InboundBody,
)
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.ports.channels import Capabilities, InboundHandler
from botfleet.ports.clock import Clock
from botfleet.ports.stores import OutboxStore
from botfleet.web import InvalidRequest, Operation, json_body, query_of, read_body

#: Largest `POST /inbound` body accepted; checked on Content-Length and on the bytes read.
MAX_BODY_BYTES = 64 * 1024
JSON_TYPE = "application/json"
#: Largest page of `GET /messages`.
MAX_PAGE = 500

#: Sequence numbers are SQLite integers: a larger `since` is a 422, not an overflow in the store.
MAX_SEQ = 2**63 - 1


class MessagesQuery(BaseModel):
    """`GET /messages` parameters."""

    contact_id: str | None = Field(
        default=None, min_length=1, max_length=MAX_ID, pattern=SAFE_ID_PATTERN
    )
    since: int = Field(
        default=0, ge=0, le=MAX_SEQ, description="Sequence number already seen (0: none)."
    )
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)


#: `POST /inbound?wait=false`: answer 202 once stored. Read by hand (`_wait_flag`) with
#: pydantic's own bool rules, so an ordinary turn validates no query model.
WAIT_PARAMETER: dict[str, Any] = {
    "name": "wait",
    "in": "query",
    "required": False,
    "description": "false: answer 202 once the message is stored, process it in the "
    "background (replies then come from `GET /messages`)",
    "schema": {"type": "boolean", "default": True, "title": "Wait"},
}
_BOOL = TypeAdapter(bool)

#: `GET /messages` answers hold a conversation, and each poll must see what is new: no cache
#: (the browser's, a proxy's) keeps them.
_NOT_STORED = {"Cache-Control": "no-store"}

_CONTACT_REQUIRED = {
    "type": "missing",
    "loc": ("query", "contact_id"),
    "msg": "Field required: this channel lists one contact's messages at a time",
    "input": None,
}
_CONTACT_REQUIRED_REMOTELY = {
    **_CONTACT_REQUIRED,
    "msg": "Field required: every contact's messages are listed to this machine (loopback) "
    "only, asked as localhost or by IP address (a DNS name may be a page's, rebound to "
    "127.0.0.1)",
}


def build_routes(
    handler: InboundHandler,
    outbox: OutboxStore,
    *,
    title: str,
    clock: Clock,
    language: str = "en",
    capabilities: Capabilities | None = None,
    list_all_contacts: bool = False,
    allowed_origins: Sequence[str] = (),
    embed_origins: Sequence[str] = (),
    greeting: Greeting | None = None,
) -> list[Operation]:
    """The web chat routes, to mount at the data plane's root or under a prefix.

    Args:
        handler: The runtime; `handle()` runs one turn and returns its replies.
        outbox: Where the runtime keeps every message it sent (read by `GET /messages`).
        title: Shown in the page header and the widget.
        clock: Source of inbound message timestamps.
        language: The tenant's `language` ("es", "pt-BR"): the page's and the widget's own
            words are in it when built in (`page_words`), else in English.
        capabilities: What replies are fitted to; the runtime's sender should use the same
            (default `WEBCHAT_CAPABILITIES`).
        list_all_contacts: Allow `GET /messages` without `contact_id` (the seed's dev
            `curl /messages`), to clients on this machine only (`from_this_machine`: not
            forwarded by a proxy, and asking for localhost or an IP address, which a page of
            another site rebound to 127.0.0.1 by its DNS cannot). Off by default. Answered to
            anyone, it showed every contact's messages, and with them the contact ids, which
            are all it takes to read a conversation and write in it as that contact: a
            tenant left on `http_dev` (the control plane's default channel) published them.
        allowed_origins: The channel's `allowed_origins`: pages of these sites may also post
            without a JSON content type (CORS asks the browser nothing then); pages of any
            other site are refused (`cross_site.py`).
        embed_origins: The channel's `embed_origins`: the only sites (with the data plane's
            own) that may frame the chat page, and where the widget shows its bubble; empty,
            any site. The data plane also refuses other sites' pages' API requests with them
            (`edge.py`, in front of the whole app).
        greeting: The channel's `greeting`: the page shows it, in `language`, as the bot's
            first bubble while a conversation has no messages (display only, `greeting.py`).
    """
    caps = capabilities or WEBCHAT_CAPABILITIES
    assets = load_assets(title, language, embed_origins, greeting)
    listed = frozenset(allowed_origins)

    async def inbound(request: Request) -> Response:
        origin = unasked_page_post(request.scope["headers"])
        if origin is not None and origin not in listed:
            raise HTTPException(415, detail=REFUSED)
        wait = _wait_flag(request.query_params.get("wait"))
        raw = await read_body(request, MAX_BODY_BYTES)
        try:
            body = json_body(InboundBody, raw)
        except InvalidRequest as exc:
            raise _worded(exc) from None
        message = to_message(body, clock.now())
        if not wait:
            accepted = await handler.accept(message)
            reply = {"message_id": message.message_id, "duplicate": not accepted, "replies": []}
            return JSONResponse(reply, status_code=202)
        result = await handler.handle(message)
        return Response(encode_reply(result, caps), media_type=JSON_TYPE)

    async def messages(request: Request) -> Response:
        try:
            query = query_of(MessagesQuery, request)
        except InvalidRequest as exc:
            raise _worded(exc) from None
        if query.contact_id is None and not list_all_contacts:
            raise InvalidRequest([_CONTACT_REQUIRED])
        if query.contact_id is None and not from_this_machine(request):
            raise InvalidRequest([_CONTACT_REQUIRED_REMOTELY])
        rows = await outbox.since(contact_id=query.contact_id, since=query.since, limit=query.limit)
        found = [_outbox_message(row) for row in rows]
        last = max((m["seq"] for m in found), default=query.since)
        return JSONResponse({"messages": found, "last": last}, headers=_NOT_STORED)

    async def page(request: Request) -> Response:
        return HTMLResponse(assets.page, headers=assets.page_headers, media_type=HTML_TYPE)

    async def chat_script(request: Request) -> Response:
        versioned = request.query_params.get("v") == assets.chat_js_version
        headers = VERSIONED_SCRIPT_HEADERS if versioned else SCRIPT_HEADERS
        return Response(assets.chat_js, headers=headers, media_type=SCRIPT_TYPE)

    async def widget_script(request: Request) -> Response:
        return Response(assets.widget_js, headers=SCRIPT_HEADERS, media_type=SCRIPT_TYPE)

    tags = ("webchat",)
    return [
        Operation(
            "POST",
            "/inbound",
            inbound,
            summary="Send a message as a contact and get the bot's replies",
            tags=tags,
            parameters=(WAIT_PARAMETER,),
            body=InboundBody,
            answer=InboundReply,
            responses={
                202: "Stored, processed in the background (`wait=false`)",
                413: f"Body over {MAX_BODY_BYTES // 1024} KB",
                415: "Sent by a web page of a site not in `allowed_origins` without "
                "`Content-Type: application/json`",
            },
            max_body_bytes=MAX_BODY_BYTES,
        ),
        Operation(
            "GET",
            "/messages",
            messages,
            summary="Messages the bot sent, oldest first, after the `since` cursor",
            tags=tags,
            query=MessagesQuery,
            answer=MessagesPage,
        ),
        Operation("GET", "/", page, in_schema=False),
        Operation("GET", "/chat.js", chat_script, in_schema=False),
        Operation("GET", "/widget.js", widget_script, in_schema=False),
    ]


def to_message(body: InboundBody, now: datetime) -> InboundMessage:
    """The runtime's message for a validated `POST /inbound` body received at `now`.

    A choice whose payload is an id sent by position (`by_position`) is the typed answer
    "<position>" with its menu's fingerprint, as on WhatsApp and Telegram."""
    if body.type != "text" and body.payload.startswith(PREFIX):
        # Only ids with a fingerprint: the web chat never sent `#opt<position>` alone, so a
        # flow's own id of that form stays an id.
        pressed = positional_press(body.payload, legacy=False)
        if pressed is not None:
            return InboundMessage(
                message_id=body.message_id or uuid4().hex,
                contact_id=body.contact_id,
                type=MessageType.TEXT,
                timestamp=now,
                text=pressed[0],
                contact_name=body.contact_name,
                extra={"option_title": body.title, **pressed[1]},
            )
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


def _outbox_message(row: dict[str, Any]) -> dict[str, Any]:
    """An `OutboxMessage`, encoded by hand as `POST /inbound`'s replies are (`replies.py`)."""
    at = row["at"]
    return {
        "seq": int(row["seq"]),
        "contact_id": str(row["contact_id"]),
        "at": at.isoformat() if isinstance(at, datetime) else str(at),
        "output": sendable_output(dict(row["output"])),
    }


def _worded(exc: InvalidRequest) -> InvalidRequest:
    """`exc` with an id's pattern error in words: a front end's developer (or its user) reads
    `msg`, and the pattern (`SAFE_ID_PATTERN`) says little to either."""
    for error in exc.errors:
        if error.get("type") == "string_pattern_mismatch":
            error["msg"] = f"String {SAFE_ID_RULE}"
    return exc


def _wait_flag(raw: str | None) -> bool:
    """`?wait=`, parsed as pydantic (and FastAPI) parse a `bool` query parameter; a 422
    naming it if invalid."""
    if raw is None:
        return True
    try:
        return _BOOL.validate_python(raw)
    except ValidationError as exc:
        raise InvalidRequest.of(exc, "query", "wait") from None
