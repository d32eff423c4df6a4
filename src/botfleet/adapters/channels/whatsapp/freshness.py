"""How old a WhatsApp message may be and still be answered. Pure, but for its log line.

Meta signs a delivery's bytes without a time, so a signed body sent again (by whoever kept a
copy: a proxy's log, a leaked capture) is as valid as the day Meta sent it. The journal drops
it as a redelivery while it remembers the message id (`JOURNAL_RETENTION`); after that it
would be answered again, as the same contact. Each message carries the time the contact sent
it (`timestamp`, which the signature covers), so a message older than anything Meta still
redelivers is ignored instead: acknowledged (a 200, so nobody retries it), logged, never
stored, answered or marked read.

The bound sits halfway between Meta's retries (7 days) and the journal's memory (8 days): a
late retry of a real message is still answered, and a message old enough to pass the check is
still in the journal when it comes again. The 12 hours on each side absorb the difference
between Meta's clock and ours, and Meta's first attempt coming after the message's own time.

Status callbacks and errors of a whole change are not checked: they change no conversation
and send nothing (a replay can only count a metric or log a line again), and they are not
remembered by the journal anyway but by a memory of recent ones that a restart forgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog

from botfleet.adapters.channels.log_contacts import LogContacts
from botfleet.domain.messages import InboundMessage
from botfleet.ports.stores import JOURNAL_RETENTION

log = structlog.get_logger("botfleet.channels.whatsapp")

#: Meta retries a delivery it could not hand over for up to 7 days.
META_RETRY_WINDOW = timedelta(days=7)
#: Older messages are ignored (see the module's docstring for why this much).
MAX_MESSAGE_AGE = JOURNAL_RETENTION - (JOURNAL_RETENTION - META_RETRY_WINDOW) / 2


def fresh_messages(
    messages: Sequence[InboundMessage],
    received_at: datetime,
    contacts: LogContacts | None = None,
) -> Sequence[InboundMessage]:
    """`messages` without those sent more than `MAX_MESSAGE_AGE` before `received_at`, each of
    those logged as `whatsapp_stale_message_ignored` (its id and age, never its content; the
    contact hashed by `contacts`). A message without a time of its own was given
    `received_at` by the parser and is fresh."""
    cutoff = received_at - MAX_MESSAGE_AGE
    # One comparison per message on the hot path; the list is rebuilt only when one is old.
    if all(message.timestamp >= cutoff for message in messages):
        return messages
    fresh: list[InboundMessage] = []
    for message in messages:
        if message.timestamp >= cutoff:
            fresh.append(message)
            continue
        fields = contacts.fields(message.contact_id) if contacts is not None else {}
        log.warning(
            "whatsapp_stale_message_ignored",
            message_id=message.message_id,
            sent_at=message.timestamp.isoformat(),
            age_s=int((received_at - message.timestamp).total_seconds()),
            max_age_s=int(MAX_MESSAGE_AGE.total_seconds()),
            hint=(
                "older than any delivery Meta retries: a signed delivery sent again by someone "
                "who kept it, or this host's clock is days ahead"
            ),
            **fields,
        )
    return fresh
