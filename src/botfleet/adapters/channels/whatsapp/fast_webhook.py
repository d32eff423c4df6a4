"""`POST /webhook` acknowledged straight from ASGI when the delivery is signed and well formed.

Every WhatsApp message is one webhook POST, so FastAPI's layers around it (~90 us; see
`asgi_fast_path`) were a sixth of an acknowledgement's CPU. `WebhookFastPath` answers a
delivery whose `X-Hub-Signature-256` matches and whose body is JSON with the same steps and
bytes as the route (`verify_signature`, `parse_webhook`, `deliver`, the same JSON answer).
Anything else (no or a wrong signature, a body that is not JSON, one over the limit, a query
string) goes to the route, which refuses it with its own status, wording and log line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botfleet.adapters.channels.asgi_fast_path import (
    AfterResponse,
    ExceptionHandler,
    PostFastPath,
    header,
)
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
from botfleet.http_guards import ASGIApp, Scope
from botfleet.ports.clock import Clock

_SIGNATURE = SIGNATURE_HEADER.lower().encode("latin-1")


class WebhookFastPath(PostFastPath):
    """ASGI middleware acknowledging ordinary signed deliveries without the framework's layers.

    Args:
        app: The app, which serves everything else (and unusual deliveries).
        settings: The tenant's WhatsApp settings, as given to the route.
        runtime: As given to the route.
        clock: As given to the route.
        exception_handlers: The app's handlers by exception class (`app.exception_handlers`).
        path: The route's path.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: WhatsAppSettings,
        runtime: WebhookRuntime,
        clock: Clock,
        exception_handlers: Mapping[Any, ExceptionHandler],
        path: str = "/webhook",
    ) -> None:
        super().__init__(
            app,
            path=path,
            max_body_bytes=MAX_WEBHOOK_BYTES,
            exception_handlers=exception_handlers,
        )
        self.settings = settings
        self.runtime = runtime
        self.clock = clock
        self._app_secret = settings.app_secret.get_secret_value()

    async def answer(self, scope: Scope, body: bytes, after: AfterResponse) -> bytes | None:
        signature = header(scope, _SIGNATURE)
        if signature is None:
            return None  # the route refuses it (401) and logs it
        try:
            verify_signature(body, signature, self._app_secret)
        except InvalidSignature:
            return None  # the route refuses it (403) and logs it
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return None  # the route answers 400
        batch = parse_webhook(
            document, phone_number_id=self.settings.phone_number_id, received_at=self.clock.now()
        )
        accepted = await deliver(batch, self.runtime, mark_read=self.settings.mark_as_read)
        return encode_answer(batch, accepted)
