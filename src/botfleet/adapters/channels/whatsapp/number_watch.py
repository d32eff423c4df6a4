"""Warns when a WhatsApp binding's `phone_number_id` looks wrong."""

from __future__ import annotations

import structlog

from botfleet.adapters.channels.whatsapp.parse import WebhookBatch

log = structlog.get_logger("botfleet.whatsapp")

#: Other numbers remembered at most: a delivery's ids come from the (signed) body, and the
#: set must not grow without bound in a long-running process.
MAX_WARNED = 64


class OtherNumberWatch:
    """Warns, once per id, of changes for another `phone_number_id` while none for ours has
    come since start.

    One Meta app may serve several numbers, each bound to its own tenant, so a skipped change
    alone is normal (an info line). A binding whose `phone_number_id` holds the WhatsApp
    Business Account id or the phone number itself sees only "other" numbers and answers no
    one: that is worth a warning naming the id to set. Once a change for our number has come,
    the binding is right and the watch goes quiet.
    """

    def __init__(self, configured: str) -> None:
        self._configured = configured
        self._ours_seen = False
        self._warned: set[str] = set()

    def observe(self, batch: WebhookBatch) -> None:
        if batch.ours:
            self._ours_seen = True
        if self._ours_seen:
            return
        for number in batch.other_numbers:
            if number in self._warned or len(self._warned) >= MAX_WARNED:
                continue
            self._warned.add(number)
            log.warning(
                "whatsapp_phone_number_id_mismatch",
                configured=self._configured,
                delivered_for=number,
                hint="no message for the configured phone_number_id has come since start; "
                "if this is the bot's number, set the binding's phone_number_id to "
                "delivered_for (Meta's Phone number ID, not the account id or the number)",
            )
