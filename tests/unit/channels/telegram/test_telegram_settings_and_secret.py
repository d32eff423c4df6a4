"""Telegram settings and the secret-token header check."""

from __future__ import annotations

import pytest

from botfleet.adapters.channels.telegram.settings import telegram_settings
from botfleet.adapters.channels.telegram.signature import MissingSecretToken, verify_secret_token
from botfleet.domain.errors import ConfigError, InvalidSignature

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
RAW = {"type": "telegram", "bot_token": TOKEN, "webhook_secret": "s3cr3t_-token"}


def test_defaults_and_method_urls() -> None:
    settings = telegram_settings(RAW)
    assert settings.method_url("sendMessage") == f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    assert settings.answer_callbacks is True


def test_secret_token_alias_and_local_base_url() -> None:
    settings = telegram_settings(
        {"bot_token": TOKEN, "secret_token": "abc", "base_url": "http://127.0.0.1:9000/"}
    )
    assert settings.webhook_secret.get_secret_value() == "abc"
    assert settings.method_url("getMe") == f"http://127.0.0.1:9000/bot{TOKEN}/getMe"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"bot_token": "not-a-token-" + TOKEN}, "channel.bot_token"),
        ({"webhook_secret": "has spaces"}, "channel.webhook_secret"),
        ({"webhook_secret": "x" * 257}, "channel.webhook_secret"),
        ({"api_base_url": "ftp://x"}, "channel.api_base_url"),
    ],
)
def test_bad_settings_name_the_key_and_never_echo_secrets(change: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        telegram_settings({**RAW, **change}, source="tenant.yaml")
    assert raised.value.key == key
    assert TOKEN not in str(raised.value)
    assert "has spaces" not in str(raised.value)


@pytest.mark.parametrize(
    "url", [f"https://api.telegram.org/bot{TOKEN}", f"http://127.0.0.1:9000/tg/bot{TOKEN}/"]
)
def test_a_base_url_holding_the_bot_token_is_refused_without_echoing_it(url: str) -> None:
    # Copied from a method URL: calls went to /bot<token>/bot<token>/..., and the token sat in
    # a binding stored and shown as plain text.
    with pytest.raises(ConfigError) as raised:
        telegram_settings({**RAW, "api_base_url": url}, source="tenant.yaml")
    assert raised.value.key == "channel.api_base_url"
    assert "leave /bot<token> out of the URL: the token goes in bot_token" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_a_base_url_path_that_is_no_token_is_kept() -> None:
    settings = telegram_settings({**RAW, "api_base_url": "http://127.0.0.1:9000/botapi"})
    assert settings.method_url("getMe") == f"http://127.0.0.1:9000/botapi/bot{TOKEN}/getMe"


def test_a_username_starting_with_a_digit_is_refused_saying_why() -> None:
    # Telegram's rule the docs give: an owner who typed "1salon_bot" is told what is wrong.
    with pytest.raises(ConfigError) as raised:
        telegram_settings({**RAW, "bot_username": "1salon_bot"})
    assert str(raised.value).endswith(
        "channel.bot_username: telegram channel: not a Telegram username "
        "(5-32 of A-Z, a-z, 0-9 and '_', starting with a letter)"
    )


def test_secrets_never_show_in_reprs() -> None:
    text = repr(telegram_settings(RAW))
    assert TOKEN not in text
    assert "s3cr3t_-token" not in text


def test_the_right_secret_is_accepted() -> None:
    verify_secret_token("s3cr3t_-token", "s3cr3t_-token")


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_secret_is_reported_as_missing(header: str | None) -> None:
    with pytest.raises(MissingSecretToken):
        verify_secret_token(header, "s3cr3t")


@pytest.mark.parametrize("header", ["s3cr3", "s3cr3t ", "S3CR3T", "ñ"])
def test_a_wrong_secret_is_rejected(header: str) -> None:
    with pytest.raises(InvalidSignature) as raised:
        verify_secret_token(header, "s3cr3t")
    assert not isinstance(raised.value, MissingSecretToken)
