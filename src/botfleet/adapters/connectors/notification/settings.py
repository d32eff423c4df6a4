"""Tenant settings of the `webhook` notification connector (`connectors.notification`).

    connectors:
      notification:
        type: webhook
        url: https://hooks.example.com/botfleet          # where every notification is POSTed
        secret: <from the tenant's credentials>           # optional: signs each request
        token: <from the tenant's credentials>            # optional: Authorization: Bearer ...
        headers: {X-Shop: downtown}                       # optional, never secrets
        format: json                                      # json (default) | slack
        request_timeout_s: 10
        redeliver_for: 24h                                # optional: keep failed ones, retry

`secret` and `token` are `SecretStr`: the control plane refuses them in a binding and stores
them as the tenant's credentials (scope `connector:notification`); they are never logged nor
shown in an error. `url` may be stored there too (`CREDENTIAL_SETTINGS`): a hook URL is often
a secret itself (Slack, Zapier, a Teams/Power Automate URL signed with `?sig=...`); the boot
payload merges it back, so the data plane reads it here either way. Nothing here repeats a
value in its messages.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    SecretStr,
    field_validator,
    model_validator,
)

from botfleet.flows.durations import parse_duration

#: Headers the connector writes itself (case-insensitive); a binding may not set them.
RESERVED_HEADERS = frozenset(
    {"host", "content-type", "content-length", "transfer-encoding", "connection",
     "accept-encoding", "idempotency-key", "user-agent", "te", "upgrade", "expect"}
)  # fmt: skip
#: Prefix of the connector's own headers (`X-Botfleet-Signature`...).
OWN_HEADER_PREFIX = "x-botfleet-"
#: Parts of a header name that say it carries a secret: such a header belongs in `token`.
_SECRET_HINTS = ("auth", "token", "secret", "password", "key", "cookie", "signature", "session")
_TOKEN_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")  # RFC 9110 field-name
_FIELD_VALUE = re.compile(r"[\x20-\x7e]{0,1024}")  # printable ASCII, no line breaks
MAX_HEADERS = 20
#: The bounds of `redeliver_for`: shorter is the retries' job; longer, the news is stale.
MIN_REDELIVERY = timedelta(minutes=1)
MAX_REDELIVERY = timedelta(days=7)


def _header_name(name: str, *, what: str) -> str:
    if not _TOKEN_NAME.fullmatch(name):
        raise ValueError(f"{what}: not a valid HTTP header name (letters, digits, '-')")
    return name


class WebhookSettings(BaseModel):
    """`webhook`: POST every notification to one URL the business controls (its own server, a
    Zapier/Make/n8n catch hook, a Slack, Google Chat or Mattermost incoming webhook)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Settings the control plane also takes as credentials of the binding's scope (where a
    #: query, `?sig=...`, is allowed) instead of in the binding, which every tenant key reads
    #: (`control_plane/binding_schemas.py`). Given in one place or the other, never both.
    CREDENTIAL_SETTINGS: ClassVar[frozenset[str]] = frozenset({"url"})

    type: Literal["webhook"] = "webhook"
    # Not in the repr: a hook URL is often a capability (whoever has it can post).
    url: str = Field(
        repr=False,
        description="the URL every notification is POSTed to (http or https); when it is a "
        "secret itself (a Slack or Zapier hook, a Teams/Power Automate URL with ?sig=), store "
        "it as the `url` credential instead",
    )
    secret: SecretStr | None = Field(
        None,
        repr=False,
        description="signing secret: each request carries X-Botfleet-Signature, an "
        "HMAC-SHA256 of its timestamp and body (store it as a credential)",
    )
    token: SecretStr | None = Field(
        None,
        repr=False,
        description="sent in `token_header` (default `Authorization: Bearer <token>`); store "
        "it as a credential",
    )
    token_header: str = Field(
        "Authorization",
        description="header that carries `token`: `Authorization` sends `Bearer <token>`, "
        "any other (e.g. X-Api-Key) the token as it is",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="extra headers sent as they are (not secrets: those go in `token`)",
    )
    format: Literal["json", "slack"] = Field(
        "json",
        description='json: the notification as JSON; slack: {"text": ...} for incoming '
        "webhooks (Slack, Google Chat, Mattermost, Rocket.Chat)",
    )
    request_timeout_s: PositiveFloat = Field(
        10.0, le=120, description="HTTP timeout (connect, and each read) of one request"
    )
    redeliver_for: str | None = Field(
        None,
        description="a notification the receiver did not take (down, timing out, 429, an "
        "open breaker) is kept and sent again later, with the same Idempotency-Key, for this "
        "long (1m to 7d, e.g. 24h) after it first failed; left out: it is lost",
    )

    @field_validator("redeliver_for")
    @classmethod
    def _redelivery_window(cls, value: str | None) -> str | None:
        if value is not None:
            window = parse_duration(value)  # its ValueError says what is accepted
            if not MIN_REDELIVERY <= window <= MAX_REDELIVERY:
                raise ValueError(f"{value!r}: must be from 1m to 7d")
        return value

    @property
    def redelivery_window(self) -> timedelta | None:
        """`redeliver_for` as a duration; None when not set."""
        return None if self.redeliver_for is None else parse_duration(self.redeliver_for)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # Messages name what is wrong, never the URL: a hook URL is often a capability
        # (whoever has a Slack or Zapier hook URL can post to it).
        text = value.strip()
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise ValueError("cannot be read as a URL") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError("not an http(s) URL; write https://...")
        if not parts.hostname:
            raise ValueError("the URL has no host")
        if "@" in parts.netloc:
            raise ValueError(
                "a URL must not carry credentials (user:password@): store a token as the "
                "`token` credential instead"
            )
        if any(c.isspace() or ord(c) < 0x20 for c in text):
            raise ValueError("the URL holds spaces or control characters")
        return text

    @field_validator("token_header")
    @classmethod
    def _token_header(cls, value: str) -> str:
        name = _header_name(value, what="token_header")
        lower = name.lower()
        if lower in RESERVED_HEADERS or lower.startswith(OWN_HEADER_PREFIX):
            raise ValueError(f"token_header: {name!r} is a header the connector sets itself")
        return name

    @field_validator("headers")
    @classmethod
    def _plain_headers(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_HEADERS:
            raise ValueError(f"at most {MAX_HEADERS} headers")
        seen: set[str] = set()
        for name, text in value.items():
            lower = _header_name(name, what=f"headers.{name[:64]}").lower()
            if lower in seen:
                raise ValueError(f"headers.{name}: given twice (names ignore case)")
            seen.add(lower)
            if lower in RESERVED_HEADERS or lower.startswith(OWN_HEADER_PREFIX):
                raise ValueError(f"headers.{name}: a header the connector sets itself")
            if any(hint in lower for hint in _SECRET_HINTS):
                raise ValueError(
                    f"headers.{name}: looks like it carries a secret, and headers are stored "
                    "in clear; store the value as the `token` credential and set "
                    f"token_header: {name}"
                )
            if not _FIELD_VALUE.fullmatch(text):
                raise ValueError(
                    f"headers.{name}: a value must be printable ASCII on one line (up to "
                    "1024 characters)"
                )
        return value

    @field_validator("secret")
    @classmethod
    def _some_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("is empty: leave it out, or store the signing secret")
        return value

    @field_validator("token")
    @classmethod
    def _one_line(cls, value: SecretStr | None) -> SecretStr | None:
        # A line break in a header value would let a stored token smuggle another header.
        if value is not None:
            text = value.get_secret_value()
            if not text or not _FIELD_VALUE.fullmatch(text):
                raise ValueError("must be printable ASCII on one line, not empty")
        return value

    @model_validator(mode="after")
    def _token_header_is_its_own(self) -> WebhookSettings:
        taken = {name.lower() for name in self.headers}
        if self.token is not None and self.token_header.lower() in taken:
            raise ValueError(
                f"headers.{self.token_header}: also token_header; the token is sent in it, "
                "leave it out of headers"
            )
        return self
