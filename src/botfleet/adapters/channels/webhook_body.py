"""Reading a provider webhook's body: bounded, and JSON or a 400 (WhatsApp and Telegram routes)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = HTTPException(413, detail=f"request body is over the limit of {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise HTTPException(400, detail="Content-Length header is not a number")
        if int(declared) > limit:
            raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def decode_json(body: bytes) -> Any:
    """The JSON document in `body`, or 400 (a signed or authenticated body that is not JSON is
    the sender's bug; answering 400 tells it, and a retry would not help)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise HTTPException(400, detail="request body is not JSON") from None
