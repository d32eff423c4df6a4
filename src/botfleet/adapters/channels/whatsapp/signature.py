"""Webhook authenticity: Meta's `X-Hub-Signature-256` HMAC and the subscription handshake."""

from __future__ import annotations

import hashlib
import hmac
import re

from botfleet.domain.errors import InvalidSignature

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
#: What Meta sends: the prefix and a hex SHA-256 (any letter case).
_SHAPE = re.compile(r"sha256=[0-9a-f]{64}")


class MissingSignature(InvalidSignature):
    """The request carries no signature at all (answered 401; a wrong one is 403)."""

    def __init__(self) -> None:
        super().__init__(f"missing {SIGNATURE_HEADER} header")


class MalformedSignature(InvalidSignature):
    """The header is not `sha256=` and 64 hex digits: not Meta's, or changed on the way (a proxy
    rewriting headers), rather than signed with another app secret."""

    def __init__(self) -> None:
        super().__init__(f"{SIGNATURE_HEADER} is not sha256= and 64 hex digits")


def signature_for(body: bytes, app_secret: str) -> str:
    """The header value Meta sends for `body`: `sha256=<hex HMAC-SHA256 keyed by app secret>`."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify_signature(body: bytes, header: str | None, app_secret: str) -> None:
    """Raise unless `header` is the signature of the raw `body` (constant-time comparison).

    Raises:
        MissingSignature: no header, or an empty one.
        MalformedSignature: a value not of the signature's shape.
        InvalidSignature: a well-formed signature that is not the expected one (another app
            secret, or another body).
    """
    if header is None or not header.strip():
        raise MissingSignature()
    # Headers arrive latin-1 decoded; hex is case-insensitive.
    given_text = header.strip().lower()
    if not _SHAPE.fullmatch(given_text):
        raise MalformedSignature()
    expected = signature_for(body, app_secret).encode("ascii")
    given = given_text.encode("ascii")
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
