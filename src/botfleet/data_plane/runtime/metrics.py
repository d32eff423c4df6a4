"""Prometheus metrics of one tenant's runtime (a registry per runtime: tests build many)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from botfleet.domain.channel_ids import served_kind

#: The `channel` label of a runtime whose context names no channel (test doubles; a served
#: data plane always has one).
UNKNOWN_CHANNEL = "unknown"


@dataclass(frozen=True, slots=True)
class ChannelCounters:
    """One channel kind's series of the per-channel counters, resolved once: `.labels()` on
    every message would cost a lock and a lookup each (several times the `inc` itself)."""

    messages_in: Counter
    messages_out: Counter
    send_errors: Counter


@dataclass
class RuntimeMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        # `channel`: the kind of the contact's channel (whatsapp, telegram, webchat), never the
        # contact: a handful of series per tenant.
        self.messages_in = Counter(
            "botfleet_messages_in", "Inbound messages", labelnames=("channel",), registry=r
        )
        self.messages_out = Counter(
            "botfleet_messages_out", "Outbound messages", labelnames=("channel",), registry=r
        )
        self.duplicates = Counter(
            "botfleet_duplicate_messages", "Redelivered messages ignored", registry=r
        )
        self.turn_errors = Counter("botfleet_turn_errors", "Turns that failed", registry=r)
        self.refused_backlog = Counter(
            "botfleet_refused_backlog",
            "Deliveries answered 503 because the backlog of turns was full (retried later)",
            registry=r,
        )
        self.send_errors = Counter(
            "botfleet_send_errors",
            "Committed turns whose outputs the channel refused",
            labelnames=("channel",),
            registry=r,
        )
        self._channels: dict[str, ChannelCounters] = {}
        self.redelivered = Counter(
            "botfleet_redelivered_outputs",
            "Outputs committed before a crash and sent after the restart",
            registry=r,
        )
        self.merged = Counter(
            "botfleet_merged_messages",
            "Texts answered together with a later one (the flow's settings.debounce_ms)",
            registry=r,
        )
        self.rate_limited = Counter(
            "botfleet_webchat_rate_limited",
            "Web chat messages refused with 429: too many from one address",
            registry=r,
        )
        self.store_unavailable = Counter(
            "botfleet_store_unavailable",
            "Requests answered 503 because the state file was locked, full or unreadable "
            "(retried by the provider or the chat page)",
            registry=r,
        )
        self.recovered = Counter(
            "botfleet_recovered_messages", "Messages processed after a restart", registry=r
        )
        self.turn_seconds = Histogram(
            "botfleet_turn_seconds",
            "Time to process one inbound message",
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.conversations = Gauge("botfleet_conversations", "Stored conversations", registry=r)
        self.scheduled_jobs = Gauge(
            "botfleet_scheduled_jobs", "Pending scheduled jobs (reminders, standing)", registry=r
        )

    def channel(self, kind: str) -> ChannelCounters:
        """The counters of channel `kind` (created at the first call, the same ones after)."""
        counters = self._channels.get(kind)
        if counters is None:
            label = kind or UNKNOWN_CHANNEL
            counters = ChannelCounters(
                self.messages_in.labels(label),
                self.messages_out.labels(label),
                self.send_errors.labels(label),
            )
            self._channels[kind] = counters
        return counters

    def start_channels(self, channel: str, more: Sequence[tuple[str, str]]) -> None:
        """Create the series of the tenant's `channel` and `more` ((id prefix, kind) pairs) at
        0: an `increase()` over a series that appears at its first message misses that one."""
        for kind in (channel, *(kind for _, kind in more)):
            self.channel(kind)

    def of(self, contact_id: str, channel: str, more: Sequence[tuple[str, str]]) -> ChannelCounters:
        """The counters of the channel `contact_id` talks through: the more channel its id's
        prefix names, else the tenant's `channel` (as `ChannelRouter` sends). Unlike
        `StepContext.channel_of`, an id the tenant's own web chat page chose (`telegram:5` on a
        tenant with no Telegram) counts under the web chat it came through."""
        return self.channel(served_kind(contact_id, more) or channel)
