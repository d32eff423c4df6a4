"""WhatsApp Cloud API channel: signed webhook in, Graph API messages out."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.whatsapp.metrics import WhatsAppMetrics
from botfleet.adapters.channels.whatsapp.parse import StatusUpdate, WebhookBatch, parse_webhook
from botfleet.adapters.channels.whatsapp.payloads import WHATSAPP_CAPABILITIES, message_payloads
from botfleet.adapters.channels.whatsapp.send import WhatsAppCloudSender
from botfleet.adapters.channels.whatsapp.settings import WhatsAppSettings, whatsapp_settings
from botfleet.adapters.channels.whatsapp.signature import (
    SIGNATURE_HEADER,
    signature_for,
    verify_signature,
)
from botfleet.adapters.channels.whatsapp.webhook import build_routes
from botfleet.adapters.provider_api import ProviderHttp

__all__ = [
    "SIGNATURE_HEADER",
    "WHATSAPP_CAPABILITIES",
    "StatusUpdate",
    "WebhookBatch",
    "WhatsAppCloudSender",
    "WhatsAppMetrics",
    "WhatsAppSettings",
    "build",
    "build_routes",
    "message_payloads",
    "parse_webhook",
    "signature_for",
    "verify_signature",
    "whatsapp_settings",
]


def build(
    settings: WhatsAppSettings,
    http: ProviderHttp,
    *,
    registry: CollectorRegistry | None = None,
    tenant_id: str,
) -> WhatsAppCloudSender:
    """The sender for one WhatsApp number, its metrics on `registry` (the runtime's); its log
    lines hash contacts as the runtime of `tenant_id` does."""
    return WhatsAppCloudSender(
        settings, http, metrics=WhatsAppMetrics(registry), tenant_id=tenant_id
    )
