"""A provider webhook's body as JSON, or a 400 (WhatsApp and Telegram routes; the bounded read
is `botfleet.web.read_body`)."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException


def decode_json(body: bytes) -> Any:
    """The JSON document in `body`, or 400 (a signed or authenticated body that is not JSON is
    the sender's bug; answering 400 tells it, and a retry would not help)."""
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:  # a ValueError: said apart, it is the likelier fix
        raise HTTPException(400, detail=f"request body is not UTF-8 (byte {exc.start})") from None
    except (ValueError, RecursionError):
        raise HTTPException(400, detail="request body is not JSON") from None
