"""The text of a list's opaque cursor, for both planes: a JSON value, base64url-encoded without
padding. What the value holds, and what a valid one is, is each list's own (the control plane's
`pagination`, the data plane's `conversation_cursor`)."""

from __future__ import annotations

import base64
import binascii
import json

__all__ = ["pack", "unpack"]


def pack(value: object) -> str:
    """`value` (JSON) as a cursor's text."""
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def unpack(cursor: str) -> object | None:
    """The JSON value a cursor's text holds; None for text no `pack` wrote (not base64url, not
    UTF-8, not JSON, or nested past the parser). A JSON null reads as None too: no list's
    cursor holds one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value: object = json.loads(raw)
    except (ValueError, binascii.Error, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return value
