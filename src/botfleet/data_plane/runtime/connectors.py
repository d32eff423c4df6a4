"""Connector registry: category -> the tenant's connector instance, with a timeout per call."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from botfleet.domain.errors import ConnectorRejected, ConnectorTimeout, UnknownOperation
from botfleet.ports.connectors import Connector

DEFAULT_TIMEOUT_S = 10.0


class ConnectorRegistry:
    """Resolves a flow's `connector: <category>` to the instance the tenant config chose."""

    def __init__(
        self, connectors: Mapping[str, Connector], *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self._connectors = dict(connectors)
        self.timeout_s = timeout_s

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(self._connectors)

    def operations(self) -> dict[str, frozenset[str]]:
        return {cat: c.operations() for cat, c in self._connectors.items()}

    def get(self, category: str) -> Connector | None:
        return self._connectors.get(category)

    async def call(
        self, category: str, operation: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> Any:
        connector = self._connectors.get(category)
        if connector is None:
            raise ConnectorRejected(
                f"no connector configured for category {category!r} "
                f"(configured: {', '.join(sorted(self._connectors)) or 'none'})"
            )
        if operation not in connector.operations():
            raise UnknownOperation(category, operation, connector.operations())
        try:
            return await asyncio.wait_for(
                connector.call(operation, params, idempotency_key=idempotency_key),
                timeout=self.timeout_s,
            )
        except TimeoutError:
            raise ConnectorTimeout(
                f"{category}.{operation} took longer than {self.timeout_s:g}s"
            ) from None
