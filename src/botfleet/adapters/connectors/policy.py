"""Resilience policy of one connector binding: timeout, retries, circuit breaker. Pure config.

The binding's settings are the adapter's; its `resilience` key is this policy, which the data
plane applies around every call (`botfleet.data_plane.resilience`).

Tenant config (optional; every key has a default)::

    connectors:
      calendar:
        type: caldav
        resilience: {timeout_s: 8, max_attempts: 3, failure_threshold: 5, reset_after_s: 30}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

#: The key of a connector binding that holds its policy (never passed to the adapter).
RESILIENCE_KEY = "resilience"

#: Operations that create something: retried only when the call carries an idempotency key.
DEFAULT_CREATE_OPERATIONS = frozenset({"book_appointment"})


class ResiliencePolicy(BaseModel):
    """How calls to one connector instance are protected (`connectors.<category>.resilience`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: PositiveFloat = Field(10.0, le=300, description="limit of one attempt, seconds")
    max_attempts: int = Field(3, ge=1, le=10, description="attempts in all (1 = no retry)")
    backoff_initial_s: float = Field(0.2, ge=0, le=60, description="wait before the 1st retry")
    backoff_max_s: float = Field(2.0, ge=0, le=300, description="longest wait between attempts")
    backoff_jitter_s: float = Field(0.2, ge=0, le=60, description="random extra wait, up to")
    failure_threshold: int = Field(
        5, ge=1, le=1000, description="consecutive failed attempts that open the breaker"
    )
    reset_after_s: PositiveFloat = Field(
        30.0, le=3600, description="how long the breaker stays open before one probe call"
    )
    half_open_max_calls: int = Field(1, ge=1, le=100, description="probe calls at once")
    create_operations: frozenset[str] = Field(
        DEFAULT_CREATE_OPERATIONS,
        description="operations retried only with an idempotency key (besides the ones the "
        "connector declares)",
    )

    @model_validator(mode="after")
    def _ordered_backoff(self) -> ResiliencePolicy:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be at least backoff_initial_s")
        return self


def parse_policy(
    raw: Mapping[str, Any] | None, *, timeout_s: float | None = None
) -> ResiliencePolicy:
    """A policy from a binding's `resilience` mapping; `timeout_s` is the process default.

    Raises:
        pydantic.ValidationError: a key is unknown or a value out of range.
    """
    base: dict[str, Any] = {} if timeout_s is None else {"timeout_s": timeout_s}
    return ResiliencePolicy.model_validate({**base, **(raw or {})})
