"""Adapter tables: the `type` in a tenant's config -> the factory that builds the adapter."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from botfleet.adapters.connectors import scripted
from botfleet.adapters.connectors.calendar import memory as memory_calendar
from botfleet.domain.errors import ConfigError, UnknownAdapterError
from botfleet.domain.outputs import Output
from botfleet.domain.tenant_config import Binding, TenantConfig
from botfleet.ports.channels import Capabilities
from botfleet.ports.clock import Clock
from botfleet.ports.connectors import Connector

ConnectorFactory = Callable[[Mapping[str, Any], str, Clock], Connector]


def _mock_calendar(settings: Mapping[str, Any], timezone: str, clock: Clock) -> Connector:
    return memory_calendar.build(settings, timezone=timezone, clock=clock)


def _scripted(settings: Mapping[str, Any], timezone: str, clock: Clock) -> Connector:
    return scripted.build(settings)


DEFAULT_MOCK_SCHEDULE = {
    day: ["10:00-14:00", "17:00-20:00"] for day in ("mon", "tue", "wed", "thu", "fri")
}

#: connector type -> factory. Categories are the keys under `connectors:` in the tenant file.
CONNECTOR_FACTORIES: dict[str, ConnectorFactory] = {
    "mock_calendar": _mock_calendar,
    "mock": _scripted,
}


def build_connectors(config: TenantConfig, *, clock: Clock) -> dict[str, Connector]:
    built: dict[str, Connector] = {}
    for category, binding in config.connectors.items():
        if category == "llm":  # the LLM has its own port (LLMFallback), built elsewhere
            continue
        built[category] = build_connector(config, category, binding, clock=clock)
    return built


def build_connector(
    config: TenantConfig, category: str, binding: Binding, *, clock: Clock
) -> Connector:
    key = f"connectors.{category}.type"
    factory = CONNECTOR_FACTORIES.get(binding.type)
    if factory is None:
        raise UnknownAdapterError(config.source, key, binding.type, CONNECTOR_FACTORIES)
    settings = {"type": binding.type, **binding.settings()}
    if binding.type == "mock" and category == "calendar":
        # The seed's `calendar: {type: mock}`: the in-memory calendar, open on weekdays.
        factory = _mock_calendar
        settings = {"schedule": DEFAULT_MOCK_SCHEDULE, **settings, "type": "mock_calendar"}
    timezone = str(settings.get("timezone") or config.timezone)
    try:
        return factory(settings, timezone, clock)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(config.source, f"connectors.{category}", detail) from None
    except ValueError as exc:
        raise ConfigError(config.source, f"connectors.{category}", str(exc)) from None


class OutboxOnlySender:
    """Web chat delivery: the runtime already wrote the outbox, which the page reads."""

    def __init__(self, capabilities: Capabilities) -> None:
        self.capabilities = capabilities

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> None:
        return None


def build_sender(config: TenantConfig) -> Any:
    from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES

    kind = config.channel.type
    if kind in ("webchat", "http_dev"):
        return OutboxOnlySender(WEBCHAT_CAPABILITIES)
    raise UnknownAdapterError(config.source, "channel.type", kind, ("webchat", "http_dev"))
