"""Telegram Bot API channel: secret-token webhook in, `sendMessage` with inline keyboards out."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.telegram.parse import ParsedUpdate, parse_update
from botfleet.adapters.channels.telegram.payloads import TELEGRAM_CAPABILITIES, message_payloads
from botfleet.adapters.channels.telegram.send import (
    TelegramBotSender,
    TelegramMetrics,
    redact_token_in_httpx_logs,
)
from botfleet.adapters.channels.telegram.settings import TelegramSettings, telegram_settings
from botfleet.adapters.channels.telegram.signature import SECRET_HEADER, verify_secret_token
from botfleet.adapters.channels.telegram.webhook import build_routes
from botfleet.adapters.provider_api import ProviderHttp

__all__ = [
    "SECRET_HEADER",
    "TELEGRAM_CAPABILITIES",
    "ParsedUpdate",
    "TelegramBotSender",
    "TelegramMetrics",
    "TelegramSettings",
    "build",
    "build_routes",
    "message_payloads",
    "parse_update",
    "telegram_settings",
    "verify_secret_token",
]


def build(
    settings: TelegramSettings,
    http: ProviderHttp,
    *,
    registry: CollectorRegistry | None = None,
    tenant_id: str,
) -> TelegramBotSender:
    """The sender for one bot, its metrics on `registry` (the runtime's); its log lines hash
    contacts as the runtime of `tenant_id` does."""
    redact_token_in_httpx_logs()
    return TelegramBotSender(settings, http, metrics=TelegramMetrics(registry), tenant_id=tenant_id)
