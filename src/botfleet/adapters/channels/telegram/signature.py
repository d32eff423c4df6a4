"""Webhook authenticity: the `X-Telegram-Bot-Api-Secret-Token` header set with setWebhook."""

from __future__ import annotations

import hmac

from botfleet.domain.errors import InvalidSignature

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class MissingSecretToken(InvalidSignature):
    """No header at all (answered 401; a wrong one is 403)."""

    def __init__(self) -> None:
        super().__init__(f"missing {SECRET_HEADER} header")


def verify_secret_token(header: str | None, secret: str) -> None:
    """Raise unless `header` equals our webhook secret (constant-time comparison).

    Raises:
        MissingSecretToken: no header, or an empty one.
        InvalidSignature: any other value.
    """
    if not header:
        raise MissingSecretToken()
    given = header.encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, secret.encode("utf-8")):
        raise InvalidSignature(f"{SECRET_HEADER} does not match the webhook secret")
