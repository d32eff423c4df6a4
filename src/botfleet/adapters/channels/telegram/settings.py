"""Telegram Bot API channel settings, read from the tenant's `channel:` binding."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    SecretStr,
    field_validator,
)

from botfleet.adapters.channels.binding import (
    PROVIDER_BASE_URL,
    channel_settings,
    provider_base_url,
)

DEFAULT_API_URL = "https://api.telegram.org"
# Matched whole (`fullmatch`): `$` alone also matches before a final line break, which would let
# a secret or token ending in one through (every update refused, every API URL broken).
_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,100}")
# setWebhook's rule for secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# A Telegram username: 5-32 characters, a letter first; a bot's ends in "bot" (BotFather's rule,
# not checked: a group mention is compared whole, whatever it ends in).
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
# A bot token's start as a path segment of a URL: `/bot123456:`.
_TOKEN_IN_URL = re.compile(r"/bot[0-9]{1,20}:")
# Checked by a validator that says in words what is expected: pydantic's `pattern` would answer
# "string should match pattern '^https?://...'". The JSON schema keeps the pattern.


class TelegramSettings(BaseModel):
    """`channel: {type: telegram, bot_token, webhook_secret, ...}` (secrets are `SecretStr`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    bot_token: SecretStr
    #: The `secret_token` given to setWebhook; Telegram sends it back in a header.
    webhook_secret: SecretStr = Field(
        validation_alias=AliasChoices("webhook_secret", "secret_token")
    )
    #: Where the Bot API lives; a local fake server in tests and demos.
    api_base_url: str = Field(
        default=DEFAULT_API_URL,
        validation_alias=AliasChoices("api_base_url", "base_url"),
        json_schema_extra={"pattern": f"^{PROVIDER_BASE_URL.pattern}$"},
    )
    #: The bot's username (with or without "@"): in a group, the bot answers a message that
    #: mentions it (`@salon_bot`) or names it in a command (`/start@salon_bot`). Without it,
    #: the adapter asks getMe once, when a group message first needs it.
    bot_username: str | None = None
    #: Answer callback queries at once (stops the spinner on the pressed button).
    answer_callbacks: bool = True
    #: Show "typing…" (`sendChatAction`) to a contact whose message's turn is still running
    #: after this many milliseconds (a slow calendar, the LLM); null: never.
    typing_after_ms: int | None = Field(default=1000, ge=0, le=60_000)
    timeout_s: PositiveFloat = 10.0
    #: Attempts per API call when Telegram answers 429/5xx or the connection fails.
    max_attempts: int = Field(default=4, ge=1, le=10)
    #: First backoff delay for 5xx (429 waits `retry_after`); doubles per attempt, max 30 s.
    retry_base_s: float = Field(default=0.5, ge=0, le=30)
    #: Text of a keyboard message whose body is empty (Telegram requires text).
    empty_body_text: str = Field(default="👇", min_length=1, max_length=4096)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("not a bot token as BotFather gives it (<digits>:<letters>)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr) -> SecretStr:
        if not _SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("use 1-256 characters from A-Z, a-z, 0-9, '_' and '-'")
        return value

    @field_validator("bot_username")
    @classmethod
    def _username_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        username = value.removeprefix("@")
        if not _USERNAME.fullmatch(username):
            raise ValueError(
                "not a Telegram username (5-32 of A-Z, a-z, 0-9 and '_', starting with a letter)"
            )
        return username

    @field_validator("api_base_url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        url = provider_base_url(value)
        if _TOKEN_IN_URL.search(url):
            # A method URL copied whole (https://api.telegram.org/bot<token>): every call would
            # go to /bot<token>/bot<token>/..., and the token would sit in a binding that is
            # shown and stored as plain text, not as the secret `bot_token` is.
            raise ValueError("leave /bot<token> out of the URL: the token goes in bot_token")
        return url

    @property
    def bot_id(self) -> int:
        """The bot's user id: the digits before the token's ":" (what getMe answers as `id`)."""
        return int(self.bot_token.get_secret_value().partition(":")[0])

    def method_url(self, method: str) -> str:
        """The URL of a Bot API method. It contains the token: never log it."""
        return f"{self.api_base_url}/bot{self.bot_token.get_secret_value()}/{method}"


def telegram_settings(raw: Mapping[str, Any], *, source: str = "<tenant>") -> TelegramSettings:
    """Validate a channel binding; errors name the key but never echo a value (secrets)."""
    return channel_settings(TelegramSettings, raw, source=source, channel="telegram")
