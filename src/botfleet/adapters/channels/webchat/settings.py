"""Web chat channel settings, read from the tenant's `channel:` binding (`type: webchat`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from botfleet.adapters.channels.binding import channel_settings

#: A web origin: scheme, host, optional port (matched whole, any case). The host is checked
#: further by `_ascii_host` (an international name is written in letters of any script).
_ORIGIN = re.compile(r"(https?)://([^\s/?#:@\[\]*]+)(?::(\d{1,5}))?", re.IGNORECASE)
_ASCII_HOST = re.compile(r"[A-Za-z0-9.-]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Example given in the errors.
_EXAMPLE = "e.g. 'https://www.salon.example'"


class WebChatSettings(BaseModel):
    """What a web chat binding may say; the control plane checks bindings with this model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Shown in the chat page's header and on the widget (default: the tenant's name).
    title: str | None = Field(default=None, min_length=1, max_length=100)
    #: Origins whose own pages may call `POST /inbound` and `GET /messages` from the browser
    #: (CORS), e.g. "https://www.salon.example". The chat page and the widget need none: they
    #: are served by the data plane itself.
    allowed_origins: list[str] = Field(default_factory=list, max_length=50)
    #: Messages (`POST /inbound`) one visitor's address may send per minute, on average,
    #: before it is answered 429 (`rate_limit.py`); 0 turns the limit off.
    max_messages_per_minute: int = Field(default=30, ge=0, le=100_000)
    #: Messages an address may send at once before that rate applies.
    message_burst: int = Field(default=20, ge=1, le=100_000)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        """Each origin as browsers send it in `Origin`, which CORS compares exactly: lower case,
        without the scheme's default port ("https://WWW.Salon.example:443" would never match
        "https://www.salon.example")."""
        kept: list[str] = []
        for origin in origins:
            if "*" in origin:
                # An allowed site's pages may run the tenant's bot (and spend its LLM quota)
                # from their visitors' browsers: that is for the business's own sites only.
                raise ValueError(
                    f"{origin!r}: wildcards are not accepted; list each site's origin, {_EXAMPLE}"
                )
            found = _ORIGIN.fullmatch(origin)
            port = int(found[3]) if found and found[3] else None
            if found is None or (port is not None and not 0 < port < 65536):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme and host, optional port, no path "
                    f"({_EXAMPLE})"
                )
            scheme, host = found[1].lower(), _ascii_host(origin, found[2])
            written = f"{scheme}://{host}"
            if port is not None and port != _DEFAULT_PORTS[scheme]:
                written += f":{port}"
            if written not in kept:
                kept.append(written)
        return kept


def _ascii_host(origin: str, host: str) -> str:
    """`host` as browsers put it in `Origin`: lower case, an international name in its
    `xn--` form (IDNA 2008 with UTS #46 mapping, as browsers convert it: `straße` is
    `xn--strae-oqa`, not `strasse`)."""
    if _ASCII_HOST.fullmatch(host):
        return host.lower()
    import idna  # httpx's own dependency; only for the rare international name

    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(
            f"{origin!r} is not an origin: its host is not a valid domain name ({exc})"
        ) from None


def webchat_settings(raw: Mapping[str, Any], *, source: str = "<tenant>") -> WebChatSettings:
    """Validate a web chat binding; errors name the file and the key."""
    return channel_settings(WebChatSettings, raw, source=source, channel="web chat")
