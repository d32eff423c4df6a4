"""Telegram's `POST /webhook` answered straight from ASGI when the update is authentic JSON.

As for WhatsApp (`whatsapp/fast_webhook.py`): an update whose secret-token header matches and
whose body is JSON within the limit, without a query string, is answered with the route's steps
and bytes (`parse_update`, `deliver`, `encode_answer`), and a pressed button's callback is
answered once the response is sent, as the route's background task does. Anything else goes to
the route, which refuses it with its own status, wording and log line.
"""

from __future__ import annotations

import json

from botfleet.adapters.channels.asgi_fast_path import AfterResponse, ProviderWebhookFastPath
from botfleet.adapters.channels.telegram.parse import parse_update
from botfleet.adapters.channels.telegram.settings import TelegramSettings
from botfleet.adapters.channels.telegram.signature import SECRET_HEADER, verify_secret_token
from botfleet.adapters.channels.telegram.webhook import (
    MAX_UPDATE_BYTES,
    WebhookRuntime,
    deliver,
    encode_answer,
)
from botfleet.domain.errors import InvalidSignature
from botfleet.http_guards import Scope, header

_SECRET = SECRET_HEADER.lower().encode("latin-1")


class TelegramWebhookFastPath(ProviderWebhookFastPath[TelegramSettings, WebhookRuntime]):
    """ASGI middleware answering ordinary authentic updates without the framework's layers."""

    max_body = MAX_UPDATE_BYTES

    async def answer(self, scope: Scope, body: bytes, after: AfterResponse) -> bytes | None:
        try:
            secret = self.settings.webhook_secret.get_secret_value()
            verify_secret_token(header(scope, _SECRET), secret)
        except InvalidSignature:
            return None  # the route refuses it (401 or 403) and logs it
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return None  # the route answers 400
        update = parse_update(document, received_at=self.clock.now())
        accepted, job = await deliver(update, self.runtime, self.settings)
        if job is not None:
            after.append(job)
        return encode_answer(accepted)
