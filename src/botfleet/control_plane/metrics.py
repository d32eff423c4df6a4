"""Prometheus metrics of the control plane, on a registry per app (so tests can build many)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["BOOT_PULL_RESULTS", "CONTENT_TYPE_LATEST", "REFUSED_STATUSES", "ControlPlaneMetrics"]

#: The `result` label of `botfleet_cp_boot_pulls_total`.
BOOT_PULL_RESULTS = ("served", "not_modified", "refused")
#: The `status` label of `botfleet_cp_requests_refused_total`: no or a wrong key (401), a role
#: too low or a disabled tenant's change (403), another tenant's or no such resource (404).
REFUSED_STATUSES = (401, 403, 404)


class ControlPlaneMetrics:
    """Request counts and latency by route template, refusals on tenants' routes, boot pulls by
    result, DB outages."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "botfleet_cp_http_requests",
            "HTTP requests handled by the control plane",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "botfleet_cp_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            registry=self.registry,
        )
        self.boot_pulls = Counter(
            "botfleet_cp_boot_pulls",
            "Boot configuration requests by result (served, not_modified, refused)",
            ["result"],
            registry=self.registry,
        )
        # Each result is a series from the start, at 0: Prometheus' increase() sees no rise in
        # a series whose first sample is already 1, so an alert on refused pulls would miss the
        # first one after every start of the control plane.
        for result in BOOT_PULL_RESULTS:
            self.boot_pulls.labels(result)
        self.refused = Counter(
            "botfleet_cp_requests_refused",
            # Which key and which tenant: the request's log line (`actor`, `tenant_id`). A
            # label of either would add a series per key and per tenant.
            "API requests on a tenant's routes answered 401, 403 or 404 (boot pulls: not here)",
            ["status"],
            registry=self.registry,
        )
        for status in REFUSED_STATUSES:  # at 0 from the start, as the boot pulls' results
            self.refused.labels(str(status))
        self.db_unavailable = Counter(
            "botfleet_cp_db_unavailable",
            # Not /health's: a probe polled every few seconds would swamp the count of calls
            # that failed, which is what the alert on it is about.
            "Requests answered 503 because the database could not be reached (not /health)",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
