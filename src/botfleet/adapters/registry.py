"""Adapter tables: the `type` in a tenant's config -> the factory that builds the adapter."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from fastapi import APIRouter
from prometheus_client import CollectorRegistry
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


#: Channel types served by the built-in web chat (`http_dev` is the seed's name).
WEBCHAT_TYPES = ("webchat", "http_dev")

ChannelFactory = Callable[[TenantConfig, httpx.AsyncClient | None, CollectorRegistry | None], Any]
WebhookRouterFactory = Callable[[TenantConfig, Any, Clock], APIRouter]


def _webchat_sender(
    config: TenantConfig, http: httpx.AsyncClient | None, registry: CollectorRegistry | None
) -> Any:
    from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES

    return OutboxOnlySender(WEBCHAT_CAPABILITIES)


def _whatsapp_sender(
    config: TenantConfig, http: httpx.AsyncClient | None, registry: CollectorRegistry | None
) -> Any:
    from botfleet.adapters.channels import whatsapp

    settings = whatsapp.whatsapp_settings(config.channel.settings(), source=config.source)
    return whatsapp.build(settings, _shared_http(config, http), registry=registry)


def _telegram_sender(
    config: TenantConfig, http: httpx.AsyncClient | None, registry: CollectorRegistry | None
) -> Any:
    from botfleet.adapters.channels import telegram

    settings = telegram.telegram_settings(config.channel.settings(), source=config.source)
    return telegram.build(settings, _shared_http(config, http), registry=registry)


def _shared_http(config: TenantConfig, http: httpx.AsyncClient | None) -> httpx.AsyncClient:
    if http is None:
        raise ValueError(
            f"channel {config.channel.type!r} calls an HTTP API: pass the process's shared "
            "httpx.AsyncClient to build_sender(config, http=...)"
        )
    return http


def _whatsapp_webhook(config: TenantConfig, runtime: Any, clock: Clock) -> APIRouter:
    from botfleet.adapters.channels import whatsapp

    settings = whatsapp.whatsapp_settings(config.channel.settings(), source=config.source)
    return whatsapp.build_router(settings, runtime, clock=clock)


def _telegram_webhook(config: TenantConfig, runtime: Any, clock: Clock) -> APIRouter:
    from botfleet.adapters.channels import telegram

    settings = telegram.telegram_settings(config.channel.settings(), source=config.source)
    return telegram.build_router(settings, runtime, clock=clock)


#: channel type -> sender factory.
CHANNEL_FACTORIES: dict[str, ChannelFactory] = {
    "webchat": _webchat_sender,
    "http_dev": _webchat_sender,
    "whatsapp": _whatsapp_sender,
    "telegram": _telegram_sender,
}
#: channel type -> the provider's webhook routes (the web chat has its own API instead).
WEBHOOK_ROUTERS: dict[str, WebhookRouterFactory] = {
    "whatsapp": _whatsapp_webhook,
    "telegram": _telegram_webhook,
}


def build_sender(
    config: TenantConfig,
    *,
    http: httpx.AsyncClient | None = None,
    registry: CollectorRegistry | None = None,
) -> Any:
    """The tenant's `OutboundSender`.

    Args:
        config: The tenant; `channel.type` picks the adapter, the rest of `channel` configures it.
        http: The process's shared client (required by the WhatsApp and Telegram channels).
        registry: Where the channel's metrics go (the runtime's registry).
    """
    kind = config.channel.type
    factory = CHANNEL_FACTORIES.get(kind)
    if factory is None:
        raise UnknownAdapterError(config.source, "channel.type", kind, CHANNEL_FACTORIES)
    return factory(config, http, registry)


def build_webhook_router(config: TenantConfig, runtime: Any, *, clock: Clock) -> APIRouter | None:
    """The provider webhook routes of the tenant's channel, or None for the web chat.

    `runtime` must offer `accept(message)`, `sender` and `after_turns(contact_id, job)`.
    """
    factory = WEBHOOK_ROUTERS.get(config.channel.type)
    return factory(config, runtime, clock) if factory is not None else None
