"""WhatsApp channel metrics (on the runtime's registry) and status-callback recording."""

from __future__ import annotations

from collections import OrderedDict

import structlog
from prometheus_client import CollectorRegistry, Counter

from botfleet.adapters.channels.log_contacts import LogContacts
from botfleet.adapters.channels.whatsapp.errors import EVENTS, ErrorMeaning, meaning_of
from botfleet.adapters.channels.whatsapp.parse import ChangeError, GraphErrorInfo, StatusUpdate
from botfleet.contact_hash import scrub_numbers

log = structlog.get_logger("botfleet.channels.whatsapp")

#: Status values Meta documents; anything else is counted as "other" (bounded label set).
STATUSES = ("sent", "delivered", "read", "failed", "deleted")
#: How many (message id, status) pairs, and errors of whole changes, are remembered to skip
#: Meta's redeliveries of a callback.
SEEN_STATUSES = 10_000


class WhatsAppMetrics:
    """Counters exported by `/metrics`: statuses, Graph errors by meaning, retries, API calls."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # A private registry when none is given: the global one would clash between tests.
        r = registry if registry is not None else CollectorRegistry()
        self.registry = r
        self.statuses = Counter(
            "botfleet_whatsapp_statuses",
            "Delivery status callbacks received, by status",
            ["status"],
            registry=r,
        )
        self.errors = Counter(
            "botfleet_whatsapp_errors",
            "Graph API errors (send responses and failed statuses), by meaning",
            ["event"],
            registry=r,
        )
        self.requests = Counter(
            "botfleet_whatsapp_api_requests",
            "Graph API calls, by kind (text, interactive, template, read) and outcome",
            ["kind", "outcome"],
            registry=r,
        )
        self.retries = Counter(
            "botfleet_whatsapp_retries",
            "Graph API calls retried (429, 5xx, no connection)",
            registry=r,
        )
        # Meta redelivers a whole webhook when it was not acknowledged in time, statuses
        # included; a bounded memory of recent ones keeps the counts honest (a restart forgets).
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        for status in (*STATUSES, "other"):
            self.statuses.labels(status)
        for event in EVENTS:
            self.errors.labels(event)

    def record_status(self, status: StatusUpdate, contacts: LogContacts | None = None) -> None:
        """Count a status callback once, its errors with it; a failed one is logged with
        what its error means (and its recipient hashed by `contacts`)."""
        if not self._first_time((status.message_id, status.status)):
            return
        self.statuses.labels(status.status if status.status in STATUSES else "other").inc()
        log_status(status, self, contacts)

    def record_change_error(self, error: ChangeError, contacts: LogContacts | None = None) -> None:
        """Log and count an error of a whole change once: it has no id, so Meta's redelivery
        of the webhook is known by its fingerprint. A number its text quotes is hashed by
        `contacts` (the tenant's)."""
        # A message id is never empty: this key is no status's.
        if self._first_time(("", error.fingerprint)):
            log_graph_error(error.error, self, contacts=contacts, source="webhook")

    def _first_time(self, key: tuple[str, str]) -> bool:
        if key in self._seen:
            # Kept as recent: a callback Meta keeps redelivering (our answers lost on the way)
            # must not fall out of the memory while statuses of other messages pour in.
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_STATUSES:
            self._seen.popitem(last=False)
        return True


def log_status(
    status: StatusUpdate,
    metrics: WhatsAppMetrics | None = None,
    contacts: LogContacts | None = None,
) -> None:
    """Log a status callback; its recipient is named only as `contacts` hashes it."""
    fields: dict[str, str] = {}
    if contacts is not None and status.recipient_id:
        fields = contacts.fields(status.recipient_id)
    if status.status != "failed":
        log.debug("whatsapp_status", status=status.status, message_id=status.message_id, **fields)
        return
    for error in status.errors or (GraphErrorInfo(code=0, title="no error details"),):
        log_graph_error(
            error,
            metrics,
            contacts=contacts,
            contact_id=status.recipient_id or None,
            message_id=status.message_id,
            source="status",
        )


def log_graph_error(
    error: GraphErrorInfo,
    metrics: WhatsAppMetrics | None,
    *,
    meaning: ErrorMeaning | None = None,
    contacts: LogContacts | None = None,
    contact_id: str | None = None,
    source: str = "send",
    retried: bool = True,
    **context: object,
) -> None:
    """Log (and count) an error under the event that names its meaning; about `contact_id`, as
    `contacts` hashes it (never the number itself). `source`: "send" (our API call), "status"
    or "webhook" (Meta reported it: nothing is retried, and the hint says so). `retried`:
    False for a call of one attempt (a typing indicator), whose hint must not say it was."""
    meaning = meaning or meaning_of(error)
    if metrics is not None:
        metrics.errors.labels(meaning.event).inc()
    # An API error has no title: its `message` is one ("(#131026) Message undeliverable").
    title, detail = error.title or error.message, error.details or error.message
    if contacts is not None:
        known = () if contact_id is None else (contact_id,)
        title, detail = contacts.scrub(title, *known), contacts.scrub(detail, *known)
        if contact_id is not None:
            context.update(contacts.fields(contact_id))
    else:
        title, detail = scrub_numbers(title), scrub_numbers(detail)
    log.warning(
        meaning.event,
        code=error.code,
        subcode=error.subcode,
        title=title,
        detail=detail,
        error_type=error.type or None,
        fbtrace_id=error.fbtrace_id or None,
        hint=_hint(meaning.hint_for(source), retried),
        source=source,
        **context,
    )


def _hint(hint: str, retried: bool) -> str:
    return hint if retried else hint.replace("retried with backoff", "not retried (one attempt)")
