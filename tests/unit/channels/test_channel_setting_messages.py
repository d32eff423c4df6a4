"""A channel setting of the wrong form is explained in words (what is expected, where to find
it), never as the regular expression that checks it; the published JSON schema keeps the
pattern, for editors."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.adapters.channels.telegram.settings import TelegramSettings, telegram_settings
from botfleet.adapters.channels.whatsapp.settings import WhatsAppSettings, whatsapp_settings
from botfleet.domain.errors import ConfigError

WHATSAPP = {
    "phone_number_id": "106540352242922",
    "access_token": "EAAG-token",
    "app_secret": "app-secret",
    "verify_token": "verify",
}
TELEGRAM = {
    "bot_token": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "webhook_secret": "tg-secret",
}


def problem(build: Any, raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        build(raw, source="tenant.yaml")
    return str(raised.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"phone_number_id": "+34 600 111 222"},
            "channel.phone_number_id: whatsapp channel: digits only, as WhatsApp Manager shows it",
        ),
        (
            {"phone_number_id": "106540352242922\n"},
            "channel.phone_number_id: whatsapp channel: digits only, as WhatsApp Manager shows it",
        ),
        (
            {"api_version": "19.0"},
            "channel.api_version: whatsapp channel: a Graph API version such as v19.0 "
            "(v, digits, a dot, digits)",
        ),
        (
            {"graph_base_url": "graph.facebook.com"},
            "channel.graph_base_url: whatsapp channel: an http:// or https:// URL: a host and an "
            "optional path, no query, no spaces",
        ),
        (
            {"graph_base_url": "https://graph.facebook.com/?x=1"},
            "channel.graph_base_url: whatsapp channel: an http:// or https:// URL",
        ),
    ],
)
def test_a_whatsapp_setting_of_the_wrong_form_says_what_is_expected(
    change: dict[str, Any], expected: str
) -> None:
    text = problem(whatsapp_settings, {**WHATSAPP, **change})
    assert expected in text
    assert "pattern" not in text
    assert "[0-9]" not in text


def test_a_telegram_base_url_of_the_wrong_form_says_what_is_expected() -> None:
    text = problem(telegram_settings, {**TELEGRAM, "api_base_url": "api.telegram.org"})
    assert "channel.api_base_url: telegram channel: an http:// or https:// URL" in text
    assert "pattern" not in text


def test_well_formed_values_are_still_taken_as_before() -> None:
    settings = whatsapp_settings(
        {**WHATSAPP, "phone_number_id": 106540352242922, "base_url": "http://127.0.0.1:8999/"}
    )
    assert settings.messages_url == "http://127.0.0.1:8999/v19.0/106540352242922/messages"
    telegram = telegram_settings({**TELEGRAM, "base_url": "http://127.0.0.1:8081/"})
    assert telegram.api_base_url == "http://127.0.0.1:8081"


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (WhatsAppSettings, "phone_number_id"),
        (WhatsAppSettings, "api_version"),
        (WhatsAppSettings, "graph_base_url"),
        (TelegramSettings, "api_base_url"),
    ],
)
def test_the_json_schema_keeps_each_pattern(model: Any, field: str) -> None:
    schema = model.model_json_schema()["properties"][field]
    assert schema["pattern"].startswith("^")
    assert schema["pattern"].endswith("$")
