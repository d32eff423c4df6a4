"""Webhook authenticity: Meta's `X-Hub-Signature-256` HMAC and the subscription handshake."""

from __future__ import annotations

import hashlib
import hmac

from botfleet.domain.errors import InvalidSignature

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


class MissingSignature(InvalidSignature):
    """The request carries no signature at all (answered 401; a wrong one is 403)."""

    def __init__(self) -> None:
        super().__init__(f"missing {SIGNATURE_HEADER} header")


def signature_for(body: bytes, app_secret: str) -> str:
    """The header value Meta sends for `body`: `sha256=<hex HMAC-SHA256 keyed by app secret>`."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify_signature(body: bytes, header: str | None, app_secret: str) -> None:
    """Raise unless `header` is the signature of the raw `body` (constant-time comparison).

    Raises:
        MissingSignature: no header, or an empty one.
        InvalidSignature: any other value that is not the expected signature.
    """
    if header is None or not header.strip():
        raise MissingSignature()
    expected = signature_for(body, app_secret).encode("ascii")
    # Headers arrive latin-1 decoded; hex is case-insensitive. Compare bytes so that non-ASCII
    # garbage is simply unequal instead of a TypeError.
    given = header.strip().lower().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(expected, given):
        raise InvalidSignature(f"{SIGNATURE_HEADER} does not match the request body")


class WrongVerifyToken(InvalidSignature):
    def __init__(self) -> None:
        super().__init__("hub.verify_token does not match the configured verify_token")


def verify_subscription(mode: str | None, token: str | None, verify_token: str) -> None:
    """The `GET /webhook` handshake: `hub.mode=subscribe` with our verify token, else raise."""
    given = (token or "").encode("utf-8", "surrogateescape")
    token_ok = hmac.compare_digest(given, verify_token.encode("utf-8"))
    if mode != "subscribe" or not token_ok:
        raise WrongVerifyToken()
