"""Prometheus metrics of one tenant's runtime (a registry per runtime: tests build many)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class RuntimeMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.messages_in = Counter("botfleet_messages_in", "Inbound messages", registry=r)
        self.messages_out = Counter("botfleet_messages_out", "Outbound messages", registry=r)
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
            "botfleet_send_errors", "Committed turns whose outputs the channel refused", registry=r
        )
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
