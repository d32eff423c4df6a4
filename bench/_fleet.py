"""Pure helpers for the WhatsApp and density benches: tenant YAML, signed webhooks, percentiles."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bench._proc import DEMO_TENANT

PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "bench-app-secret"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def signature(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` header value Meta sends: HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def inbound_body(contact: str, text: str, message_id: str, *, timestamp: int) -> bytes:
    """A WhatsApp Cloud `messages` webhook with one text message from `contact`."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": f"Bench {contact}"}, "wa_id": contact}],
        "messages": [
            {
                "from": contact,
                "id": message_id,
                "timestamp": str(timestamp),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "bench-waba", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def demo_config() -> dict[str, Any]:
    """The demo tenant with its relative paths made absolute, so a copy works from anywhere."""
    config: dict[str, Any] = yaml.safe_load(DEMO_TENANT.read_text())
    for key in ("flow_path", "knowledge_path"):
        if key in config:
            config[key] = str((DEMO_TENANT.parent / config[key]).resolve())
    return config


def whatsapp_tenant(graph_base_url: str) -> dict[str, Any]:
    """The demo tenant bound to WhatsApp, sending to `graph_base_url` (a local fake)."""
    config = demo_config()
    config["channel"] = {
        "type": "whatsapp",
        "phone_number_id": PHONE_NUMBER_ID,
        "access_token": "bench-token",
        "app_secret": APP_SECRET,
        "verify_token": "bench-verify-token",
        "graph_base_url": graph_base_url,
        "mark_as_read": False,  # count only replies at the fake Graph server
        "max_attempts": 1,  # a lost reply must show, not be hidden by a retry
    }
    return config


def telegram_tenant(api_base_url: str) -> dict[str, Any]:
    """The demo tenant bound to a Telegram bot, calling `api_base_url` (a local fake)."""
    config = demo_config()
    config["channel"] = {
        "type": "telegram",
        "bot_token": "123456:bench-bot-token-0123456789",
        "webhook_secret": "bench-webhook-secret",
        "api_base_url": api_base_url,
    }
    return config


def density_tenant(index: int) -> dict[str, Any]:
    """The web chat demo tenant under its own id and name."""
    config = demo_config()
    config["tenant_id"] = f"bench{index:03d}"
    config["name"] = f"Bench tenant {index}"
    return config


def write_tenant(config: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
