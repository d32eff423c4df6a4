"""How old a WhatsApp message or status callback may be and still be processed. Pure, but for
its log lines.

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

A status callback (sent, delivered, read, failed) carries its own `timestamp` too, under the
same signature and the same 7 days of retries, and one older than the bound is ignored alike:
a failed one logs a warning and counts `botfleet_whatsapp_errors_total{event}`, which alerts
(a replayed "token expired" would page someone), and the memory that keeps Meta's redeliveries
of a status from counting twice is short and forgotten at a restart. Errors of a whole change
are not checked: they are rare, and their time, where Meta gives one, is part of their
fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog

from botfleet.adapters.channels.log_contacts import LogContacts
from botfleet.adapters.channels.whatsapp.parse import StatusUpdate
from botfleet.domain.messages import InboundMessage
from botfleet.ports.stores import JOURNAL_RETENTION

log = structlog.get_logger("botfleet.channels.whatsapp")

#: Meta retries a delivery it could not hand over for up to 7 days.
META_RETRY_WINDOW = timedelta(days=7)
#: Older messages and statuses are ignored (see the module's docstring for why this much).
MAX_MESSAGE_AGE = JOURNAL_RETENTION - (JOURNAL_RETENTION - META_RETRY_WINDOW) / 2
_HINT = (
    "older than any delivery Meta retries: a signed delivery sent again by someone "
    "who kept it, or this host's clock is days ahead"
)


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
            **_age(received_at, message.timestamp),
            hint=_HINT,
            **fields,
        )
    return fresh


def fresh_statuses(
    statuses: Sequence[StatusUpdate],
    received_at: datetime,
    contacts: LogContacts | None = None,
) -> Sequence[StatusUpdate]:
    """`statuses` without those whose own `timestamp` is more than `MAX_MESSAGE_AGE` before
    `received_at`, each of those logged as `whatsapp_stale_status_ignored` (the message id,
    the status, its time and age; the recipient hashed by `contacts`). A status without a
    time is fresh: nothing says it is old."""
    cutoff = received_at - MAX_MESSAGE_AGE
    if all(status.timestamp is None or status.timestamp >= cutoff for status in statuses):
        return statuses
    fresh: list[StatusUpdate] = []
    for status in statuses:
        if status.timestamp is None or status.timestamp >= cutoff:
            fresh.append(status)
            continue
        fields: dict[str, str] = {}
        if contacts is not None and status.recipient_id:
            fields = contacts.fields(status.recipient_id)
        log.warning(
            "whatsapp_stale_status_ignored",
            message_id=status.message_id,
            # Meta's own word, cut: a status it does not document is counted as "other".
            status=status.status[:32],
            status_at=status.timestamp.isoformat(),
            **_age(received_at, status.timestamp),
            hint=_HINT,
            **fields,
        )
    return fresh


def _age(received_at: datetime, at: datetime) -> dict[str, int]:
    return {
        "age_s": int((received_at - at).total_seconds()),
        "max_age_s": int(MAX_MESSAGE_AGE.total_seconds()),
    }
