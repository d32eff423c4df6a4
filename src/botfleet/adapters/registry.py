"""Adapter tables: the `type` in a tenant's config -> the factory that builds the adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from botfleet.adapters.connectors.catalog import (
    CONNECTOR_TYPES,
    DEFAULT_MOCK_SCHEDULE,
    NOT_CONNECTORS,
    ConnectorType,
    build_connector,
    build_connectors,
    check_flow_connectors,
    connector_json_schemas,
    connector_policies,
)
from botfleet.domain import channel_ids
from botfleet.domain.errors import ConfigError, UnknownAdapterError
from botfleet.domain.outputs import Output
from botfleet.domain.tenant_config import TenantConfig
from botfleet.ports.channels import Capabilities, SendOutcome
from botfleet.ports.clock import Clock

if TYPE_CHECKING:
    from botfleet.adapters.provider_api import ProviderHttp
    from botfleet.web import Operation

__all__ = [
    "CHANNEL_FACTORIES",
    "CONNECTOR_FACTORIES",
    "CONNECTOR_TYPES",
    "DEFAULT_MOCK_SCHEDULE",
    "FAST_PATHS",
    "NOT_CONNECTORS",
    "WEBHOOK_ROUTES",
    "ConnectorType",
    "build_connector",
    "build_connectors",
    "build_sender",
    "build_webhook_routes",
    "channel_views",
    "check_flow_connectors",
    "connector_json_schemas",
    "connector_policies",
    "fast_path",
]

# ---------------------------------------------------------------- connectors
# The table and its boot-time checks live in `adapters.connectors.catalog`; re-exported here.

#: connector type -> its settings model and factory. The keys under `connectors:` in the tenant
#: file are categories, or named bindings of one (`notification.crm`).
CONNECTOR_FACTORIES = CONNECTOR_TYPES


class OutboxOnlySender:
    """Web chat delivery: the runtime already wrote the outbox, which the page reads."""

    def __init__(self, capabilities: Capabilities) -> None:
        self.capabilities = capabilities

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome:
        """All sent: the turn's commit stored them in the outbox, where the page finds them
        (`GET /messages`, or `POST /inbound`'s answer); nothing is pushed, nothing refused."""
        return SendOutcome(sent=len(outputs), failed=0)


#: Channel types served by the built-in web chat (`http_dev` is the seed's name).
WEBCHAT_TYPES = channel_ids.WEBCHAT_TYPES

ChannelFactory = Callable[[TenantConfig, "ProviderHttp | None", CollectorRegistry | None], Any]
WebhookRoutesFactory = Callable[[TenantConfig, Any, Clock, str], "list[Operation]"]
FastPathFactory = Callable[[TenantConfig, Any, Clock], tuple[Any, dict[str, Any]]]


def _webchat_sender(
    config: TenantConfig, http: ProviderHttp | None, registry: CollectorRegistry | None
) -> Any:
    from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES

    return OutboxOnlySender(WEBCHAT_CAPABILITIES)


def _whatsapp_sender(
    config: TenantConfig, http: ProviderHttp | None, registry: CollectorRegistry | None
) -> Any:
    from botfleet.adapters.channels import whatsapp

    settings = whatsapp.whatsapp_settings(config.channel.settings(), source=config.source)
    return whatsapp.build(
        settings, _shared_http(config, http), registry=registry, tenant_id=config.tenant_id
    )


def _telegram_sender(
    config: TenantConfig, http: ProviderHttp | None, registry: CollectorRegistry | None
) -> Any:
    from botfleet.adapters.channels import telegram

    settings = telegram.telegram_settings(config.channel.settings(), source=config.source)
    return telegram.build(
        settings, _shared_http(config, http), registry=registry, tenant_id=config.tenant_id
    )


def _shared_http(config: TenantConfig, http: ProviderHttp | None) -> ProviderHttp:
    if http is None:
        raise ValueError(
            f"channel {config.channel.type!r} calls an HTTP API: pass the process's shared "
            "provider client to build_sender(config, http=...)"
        )
    return http


def _whatsapp_webhook(
    config: TenantConfig, runtime: Any, clock: Clock, path: str
) -> list[Operation]:
    from botfleet.adapters.channels import whatsapp

    settings = whatsapp.whatsapp_settings(config.channel.settings(), source=config.source)
    return whatsapp.build_routes(settings, runtime, clock=clock, path=path)


def _telegram_webhook(
    config: TenantConfig, runtime: Any, clock: Clock, path: str
) -> list[Operation]:
    from botfleet.adapters.channels import telegram

    settings = telegram.telegram_settings(config.channel.settings(), source=config.source)
    return telegram.build_routes(settings, runtime, clock=clock, path=path)


def _webchat_fast_path(
    config: TenantConfig, runtime: Any, clock: Clock
) -> tuple[Any, dict[str, Any]]:
    from botfleet.adapters.channels.webchat import InboundFastPath

    return InboundFastPath, {"handler": runtime, "clock": clock}


def _whatsapp_fast_path(
    config: TenantConfig, runtime: Any, clock: Clock
) -> tuple[Any, dict[str, Any]]:
    from botfleet.adapters.channels import whatsapp
    from botfleet.adapters.channels.whatsapp.fast_webhook import WebhookFastPath

    settings = whatsapp.whatsapp_settings(config.channel.settings(), source=config.source)
    return WebhookFastPath, {"settings": settings, "runtime": runtime, "clock": clock}


def _telegram_fast_path(
    config: TenantConfig, runtime: Any, clock: Clock
) -> tuple[Any, dict[str, Any]]:
    from botfleet.adapters.channels import telegram
    from botfleet.adapters.channels.telegram.fast_webhook import TelegramWebhookFastPath

    settings = telegram.telegram_settings(config.channel.settings(), source=config.source)
    return TelegramWebhookFastPath, {"settings": settings, "runtime": runtime, "clock": clock}


#: channel type -> sender factory.
CHANNEL_FACTORIES: dict[str, ChannelFactory] = {
    "webchat": _webchat_sender,
    "http_dev": _webchat_sender,
    "whatsapp": _whatsapp_sender,
    "telegram": _telegram_sender,
}
#: channel type -> the provider's webhook routes (the web chat has its own API instead).
WEBHOOK_ROUTES: dict[str, WebhookRoutesFactory] = {
    "whatsapp": _whatsapp_webhook,
    "telegram": _telegram_webhook,
}


@dataclass(frozen=True, slots=True)
class ChannelView:
    """One of the tenant's channels: `config` as if it were the tenant's only one (the
    adapters' factories read `config.channel`), with the prefix of its ids and its webhook's
    path."""

    config: TenantConfig
    prefix: str
    path: str
    #: Where the tenant file has it: `channel`, `more_channels[0]`.
    place: str = "channel"

    @contextmanager
    def placed(self) -> Iterator[None]:
        """Its settings' errors under its own key (`more_channels[0].bot_token`): the
        adapters, which read `config.channel`, name them `channel.bot_token`."""
        try:
            yield
        except ConfigError as exc:
            if self.place == "channel":
                raise
            problems = [(self.place + k.removeprefix("channel"), d) for k, d in exc.problems]
            raise ConfigError.of(exc.source, problems) from None


def channel_views(config: TenantConfig) -> list[ChannelView]:
    """The tenant's `channel` (ids as given, `/webhook`), then each of its `more_channels`."""
    views = [ChannelView(config, "", "/webhook")]
    for index, binding in enumerate(config.more_channels):
        view = config.model_copy(update={"channel": binding, "more_channels": []})
        views.append(
            ChannelView(
                view,
                channel_ids.id_prefix(binding.type),
                channel_ids.webhook_path(binding.type),
                f"more_channels[{index}]",
            )
        )
    return views


def build_sender(
    config: TenantConfig,
    *,
    http: ProviderHttp | None = None,
    registry: CollectorRegistry | None = None,
) -> Any:
    """The tenant's `OutboundSender`: its channel's, or a `ChannelRouter` over all of them
    when it has `more_channels`.

    Args:
        config: The tenant; `channel.type` picks the adapter, the rest of `channel` configures it.
        http: The process's shared client (required by the WhatsApp and Telegram channels).
        registry: Where the channel's metrics go (the runtime's registry).
    """
    if not config.more_channels:
        return _one_sender(config, http, registry)
    from botfleet.adapters.channels.log_contacts import LogContacts
    from botfleet.adapters.channels.several import Channel, ChannelRouter

    channels = []
    for view in channel_views(config):
        with view.placed():
            sender = _one_sender(view.config, http, registry)
        contacts = getattr(sender, "contacts", None)
        if isinstance(contacts, LogContacts):  # its lines hash the ids the runtime's do
            contacts.prefix = view.prefix
        confirms = view.config.channel.type not in WEBCHAT_TYPES
        channels.append(Channel(view.prefix, sender, confirms=confirms))
    return ChannelRouter(channels[0], channels[1:])


def _one_sender(
    config: TenantConfig, http: ProviderHttp | None, registry: CollectorRegistry | None
) -> Any:
    kind = config.channel.type
    factory = CHANNEL_FACTORIES.get(kind)
    if factory is None:
        raise UnknownAdapterError(config.source, "channel.type", kind, CHANNEL_FACTORIES)
    return factory(config, http, registry)


#: channel type -> ASGI middleware answering the channel's ordinary inbound requests (web-chat
#: turns, signed webhook deliveries) without the app's layers, with its arguments; the
#: channel's routes serve the rest.
FAST_PATHS: dict[str, FastPathFactory] = {
    "webchat": _webchat_fast_path,
    "http_dev": _webchat_fast_path,
    "whatsapp": _whatsapp_fast_path,
    "telegram": _telegram_fast_path,
}


def fast_path(
    config: TenantConfig, runtime: Any, *, clock: Clock, path: str = "/webhook"
) -> tuple[Any, dict[str, Any]] | None:
    """(middleware class, its arguments but `exception_handlers`) for the tenant's channel, or
    None. `runtime` is the data plane's runtime (the web chat's handler, the webhooks' runtime);
    `path`, a provider webhook's."""
    factory = FAST_PATHS.get(config.channel.type)
    if factory is None:
        return None
    middleware, arguments = factory(config, runtime, clock)
    if config.channel.type not in WEBCHAT_TYPES:
        arguments["path"] = path
    return middleware, arguments


def build_webhook_routes(
    config: TenantConfig, runtime: Any, *, clock: Clock, path: str = "/webhook"
) -> list[Operation] | None:
    """The provider webhook routes of the tenant's channel at `path`, or None for the web chat.

    `runtime` must offer `accept(message)`, `sender` and `after_turns(contact_id, job)`.
    """
    factory = WEBHOOK_ROUTES.get(config.channel.type)
    return factory(config, runtime, clock, path) if factory is not None else None
