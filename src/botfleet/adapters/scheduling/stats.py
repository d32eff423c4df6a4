"""Counters of what a scheduler did with due jobs (plain ints, and Prometheus when given one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class SchedulerStats:
    """`fired`, `missed`, `failed`, `skipped` runs; exported as `botfleet_tasks_*_total`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.counts = {"fired": 0, "missed": 0, "failed": 0, "skipped": 0}
        self._counters: dict[str, Counter] = {}
        if registry is not None:
            self._counters = {
                "fired": Counter(
                    "botfleet_tasks_fired", "Scheduled runs started", registry=registry
                ),
                "missed": Counter(
                    "botfleet_tasks_missed",
                    "Scheduled runs not sent: due longer ago than the misfire grace window",
                    registry=registry,
                ),
                "failed": Counter(
                    "botfleet_tasks_failed", "Scheduled runs that raised", registry=registry
                ),
                "skipped": Counter(
                    "botfleet_tasks_skipped",
                    "Standing runs skipped because the previous run was still going",
                    registry=registry,
                ),
            }

    def fired(self) -> None:
        self._add("fired")

    def missed(self) -> None:
        self._add("missed")

    def failed(self) -> None:
        self._add("failed")

    def skipped(self) -> None:
        self._add("skipped")

    def _add(self, name: str) -> None:
        self.counts[name] += 1
        counter = self._counters.get(name)
        if counter is not None:
            counter.inc()
