"""Web chat channel settings, read from the tenant's `channel:` binding (`type: webchat`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from botfleet.adapters.channels.binding import channel_settings

#: A web origin: scheme, host, optional port (matched whole, any case).
_ORIGIN = re.compile(r"(https?)://([A-Za-z0-9.-]+)(?::(\d{1,5}))?", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WebChatSettings(BaseModel):
    """What a web chat binding may say; the control plane checks bindings with this model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Shown in the chat page's header and on the widget (default: the tenant's name).
    title: str | None = Field(default=None, min_length=1, max_length=100)
    #: Origins whose own pages may call `POST /inbound` and `GET /messages` from the browser
    #: (CORS), e.g. "https://www.salon.example". The chat page and the widget need none: they
    #: are served by the data plane itself.
    allowed_origins: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        """Each origin as browsers send it in `Origin`, which CORS compares exactly: lower case,
        without the scheme's default port ("https://WWW.Salon.example:443" would never match
        "https://www.salon.example")."""
        kept: list[str] = []
        for origin in origins:
            found = _ORIGIN.fullmatch(origin)
            port = int(found[3]) if found and found[3] else None
            if found is None or (port is not None and not 0 < port < 65536):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme and host, optional port, no path "
                    "(e.g. 'https://www.salon.example')"
                )
            scheme, host = found[1].lower(), found[2].lower()
            written = f"{scheme}://{host}"
            if port is not None and port != _DEFAULT_PORTS[scheme]:
                written += f":{port}"
            if written not in kept:
                kept.append(written)
        return kept


def webchat_settings(raw: Mapping[str, Any], *, source: str = "<tenant>") -> WebChatSettings:
    """Validate a web chat binding; errors name the file and the key."""
    return channel_settings(WebChatSettings, raw, source=source, channel="web chat")
