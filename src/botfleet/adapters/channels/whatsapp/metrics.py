"""WhatsApp channel metrics (on the runtime's registry) and status-callback recording."""

from __future__ import annotations

from collections import OrderedDict

import structlog
from prometheus_client import CollectorRegistry, Counter

from botfleet.adapters.channels.whatsapp.errors import EVENTS, ErrorMeaning, meaning_of
from botfleet.adapters.channels.whatsapp.parse import GraphErrorInfo, StatusUpdate

log = structlog.get_logger("botfleet.channels.whatsapp")

#: Status values Meta documents; anything else is counted as "other" (bounded label set).
STATUSES = ("sent", "delivered", "read", "failed", "deleted")
#: How many (message id, status) pairs are remembered to skip Meta's redeliveries of a callback.
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

    def record_status(self, status: StatusUpdate) -> None:
        """Count a status callback once, its errors with it; a failed one is logged with
        what its error means."""
        key = (status.message_id, status.status)
        if key in self._seen:
            # Kept as recent: a callback Meta keeps redelivering (our answers lost on the way)
            # must not fall out of the memory while statuses of other messages pour in.
            self._seen.move_to_end(key)
            return
        self._seen[key] = None
        if len(self._seen) > SEEN_STATUSES:
            self._seen.popitem(last=False)
        self.statuses.labels(status.status if status.status in STATUSES else "other").inc()
        log_status(status, self)


def log_status(status: StatusUpdate, metrics: WhatsAppMetrics | None = None) -> None:
    if status.status != "failed":
        log.debug("whatsapp_status", status=status.status, message_id=status.message_id)
        return
    for error in status.errors or (GraphErrorInfo(code=0, title="no error details"),):
        log_graph_error(error, metrics, message_id=status.message_id, source="status")


def log_graph_error(
    error: GraphErrorInfo,
    metrics: WhatsAppMetrics | None,
    *,
    meaning: ErrorMeaning | None = None,
    **context: object,
) -> None:
    """Log (and count) an error under the event that names its meaning."""
    meaning = meaning or meaning_of(error)
    if metrics is not None:
        metrics.errors.labels(meaning.event).inc()
    log.warning(
        meaning.event,
        code=error.code,
        title=error.title,
        detail=error.details or error.message,
        hint=meaning.hint,
        **context,
    )
