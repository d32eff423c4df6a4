"""`POST /webhook` acknowledged straight from ASGI when the delivery is signed and well formed.

Every WhatsApp message is one webhook POST, so the app's layers around it (see
`asgi_fast_path`) are worth skipping. `WebhookFastPath` answers a
delivery whose `X-Hub-Signature-256` matches and whose body is JSON with the same steps and
bytes as the route (`verify_signature`, `parse_webhook`, `deliver` with its age check, the
same JSON answer).
Anything else (no or a wrong signature, a body that is not JSON, one over the limit, a query
string) goes to the route, which refuses it with its own status, wording and log line.
"""

from __future__ import annotations

import json

from botfleet.adapters.channels.asgi_fast_path import AfterResponse, ProviderWebhookFastPath
from botfleet.adapters.channels.whatsapp.parse import parse_webhook
from botfleet.adapters.channels.whatsapp.settings import WhatsAppSettings
from botfleet.adapters.channels.whatsapp.signature import SIGNATURE_HEADER, verify_signature
from botfleet.adapters.channels.whatsapp.webhook import (
    MAX_WEBHOOK_BYTES,
    WebhookRuntime,
    deliver,
    encode_answer,
)
from botfleet.domain.errors import InvalidSignature
from botfleet.http_guards import Scope, header

_SIGNATURE = SIGNATURE_HEADER.lower().encode("latin-1")


class WebhookFastPath(ProviderWebhookFastPath[WhatsAppSettings, WebhookRuntime]):
    """ASGI middleware acknowledging ordinary signed deliveries without the framework's layers."""

    max_body = MAX_WEBHOOK_BYTES

    async def answer(self, scope: Scope, body: bytes, after: AfterResponse) -> bytes | None:
        signature = header(scope, _SIGNATURE)
        if signature is None:
            return None  # the route refuses it (401) and logs it
        try:
            verify_signature(body, signature, self.settings.app_secret.get_secret_value())
        except InvalidSignature:
            return None  # the route refuses it (403) and logs it
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return None  # the route answers 400
        now = self.clock.now()
        batch = parse_webhook(
            document, phone_number_id=self.settings.phone_number_id, received_at=now
        )
        mark_read = self.settings.mark_as_read
        accepted = await deliver(batch, self.runtime, mark_read=mark_read, received_at=now)
        return encode_answer(batch, accepted)
