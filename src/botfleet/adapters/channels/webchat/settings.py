"""Web chat channel settings, read from the tenant's `channel:` binding (`type: webchat`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from botfleet.adapters.channels.binding import channel_settings
from botfleet.adapters.channels.webchat.greeting import Greeting, check_greeting
from botfleet.adapters.channels.webchat.public_suffixes import shared_suffix

#: A web origin: scheme, host, optional port (matched whole, any case). The host is checked
#: further by `_ascii_host` (an international name is written in letters of any script).
_ORIGIN = re.compile(r"(https?)://([^\s/?#:@\[\]*]+)(?::(\d{1,5}))?", re.IGNORECASE)
#: What is left of an origin-like value once its scheme and host are read: a path, a query...
_AFTER_HOST = re.compile(r"(https?://[^\s/?#]+)([/?#]\S*)", re.IGNORECASE)
_ASCII_HOST = re.compile(r"[A-Za-z0-9.-]+")
#: One label of a host name: letters, digits and hyphens, not at either end (RFC 1123).
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: A wildcard site of `embed_origins`: every subdomain of a name (as a CSP source writes it).
WILDCARD = "*."
#: Example given in the errors.
_EXAMPLE = "e.g. 'https://www.salon.example'"


class _BadPart(ValueError):
    """An origin's shape is right, a part of it is not (its port, its host): the message names
    the value as written (`shown`)."""


def _origin(origin: str, shown: str | None = None) -> str:
    """`origin` as browsers send it in `Origin`, which CORS and the widget compare exactly:
    lower case, without the scheme's default port ("https://WWW.Salon.example:443" would never
    match "https://www.salon.example"). Refused in words that say what to write instead;
    a bad port or host (`_BadPart`) quoting `shown` (default: `origin`)."""
    shown = origin if shown is None else shown
    found = _ORIGIN.fullmatch(origin)
    port = int(found[3]) if found and found[3] else None
    if found is None:
        raise ValueError(_not_an_origin(origin))
    if port is not None and not 0 < port < 65536:
        raise _BadPart(f"{shown!r} is not an origin: a port is 1 to 65535")
    scheme, host = found[1].lower(), _ascii_host(shown, found[2])
    written = f"{scheme}://{host}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        written += f":{port}"
    return written


def _not_an_origin(origin: str) -> str:
    """Why `origin` is not one, and what to write: the usual slips are a site's address
    without `https://` and one copied from the address bar, with its path or its last "/"."""
    stripped = origin.strip()
    if stripped != origin:
        return f"{origin!r} is not an origin: it has spaces or a line break around it"
    with_path = _AFTER_HOST.fullmatch(origin)
    if with_path is not None:
        return (
            f"{origin!r} is not an origin: no path, not even a final '/' (drop "
            f"{with_path[2]!r}: write {with_path[1]!r})"
        )
    if "://" not in origin and re.fullmatch(r"[^\s/?#:@]+(:\d+)?", origin):
        return (
            f"{origin!r} is not an origin: it has no scheme (write 'https://{origin}', or "
            "'http://' for a site without TLS)"
        )
    return f"{origin!r} is not an origin: scheme and host, optional port, no path ({_EXAMPLE})"


def _allowed_origin(origin: str) -> str:
    if "*" in origin:
        # An allowed site's pages may run the tenant's bot (and spend its LLM quota) from
        # their visitors' browsers: that is for the business's own sites only.
        raise ValueError(
            f"{origin!r}: wildcards are not accepted; list each site's origin, {_EXAMPLE}"
        )
    return _origin(origin)


def _embed_origin(origin: str) -> str:
    """An origin, or `https://*.salon.example`: any subdomain of `salon.example` (not the name
    itself), as the chat page's `frame-ancestors` source and the widget read it."""
    if origin == "*":
        raise ValueError(
            "'*' (any site) is what leaving embed_origins out means; list your own sites' "
            f"origins, {_EXAMPLE}"
        )
    scheme, separator, rest = origin.partition("://")
    if not separator:
        raise ValueError(_not_an_origin(origin))
    if not rest.startswith(WILDCARD):
        if "*" in origin:
            raise ValueError(
                f"{origin!r}: the only wildcard is a whole first label, as in "
                "'https://*.salon.example' (every subdomain of salon.example); '*' alone is "
                "what leaving embed_origins out means"
            )
        return _origin(origin)
    try:
        named = _origin(f"{scheme}://{rest[len(WILDCARD) :]}", shown=origin)
    except _BadPart:
        raise
    except ValueError:
        raise ValueError(_not_an_origin(origin)) from None
    if "*" in rest[len(WILDCARD) :] or "." not in named.partition("://")[2].split(":")[0]:
        # `https://*.com` would be every site of a top-level domain
        raise ValueError(
            f"{origin!r}: a wildcard stands for the subdomains of one domain name, as in "
            "'https://*.salon.example'"
        )
    scheme, _, host = named.partition("://")
    base = host.split(":")[0]
    if base.rpartition(".")[2].isdigit():
        raise ValueError(
            f"{origin!r}: an IP address has no subdomains; a wildcard stands for the "
            "subdomains of one domain name, as in 'https://*.salon.example'"
        )
    if shared_suffix(base):
        raise ValueError(
            f"{origin!r}: anyone may have a site under {base}, so every such site could show "
            f"the chat; list your own site instead, as in '{scheme}://your-site.{base}'"
        )
    return f"{scheme}://{WILDCARD}{host}"


AllowedOrigin = Annotated[str, AfterValidator(_allowed_origin)]
EmbedOrigin = Annotated[str, AfterValidator(_embed_origin)]


class WebChatSettings(BaseModel):
    """What a web chat binding may say; the control plane checks bindings with this model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Shown in the chat page's header and on the widget (default: the tenant's name).
    title: str | None = Field(default=None, min_length=1, max_length=100)
    #: Origins whose own pages may call `POST /inbound` and `GET /messages` from the browser
    #: (CORS), e.g. "https://www.salon.example". The chat page and the widget need none: they
    #: are served by the data plane itself.
    allowed_origins: list[AllowedOrigin] = Field(default_factory=list, max_length=50)
    #: Sites whose pages may show the chat (the widget, or the page in a frame of their own),
    #: e.g. "https://www.salon.example" or "https://*.salon.example". Empty: any site may.
    #: Set, the chat page's `frame-ancestors` lists them, the widget shows no bubble elsewhere
    #: and a browser request from a page of any other site to the API is refused (`edge.py`).
    embed_origins: list[EmbedOrigin] = Field(default_factory=list, max_length=50)
    #: Messages (`POST /inbound`) one visitor's address may send per minute, on average,
    #: before it is answered 429 (`rate_limit.py`); 0 turns the limit off.
    max_messages_per_minute: int = Field(default=30, ge=0, le=100_000)
    #: Messages an address may send at once before that rate applies.
    message_burst: int = Field(default=20, ge=1, le=100_000)
    #: The bot's first bubble on a chat with no messages yet, shown by the page only (nothing
    #: is sent or stored): a text, or one per language, chosen by the tenant's `language`
    #: (`greeting.py`). Left out, the chat opens empty.
    greeting: Greeting | None = None

    @field_validator("allowed_origins", "embed_origins")
    @classmethod
    def _once_each(cls, origins: list[str]) -> list[str]:
        """Each origin once, as written first (two spellings of one site are one origin)."""
        return list(dict.fromkeys(origins))

    @field_validator("greeting", mode="before")
    @classmethod
    def _greeting(cls, value: Any) -> Any:
        """One error in words for any wrong greeting, rather than one per shape the union
        tried (a text? a mapping?)."""
        return check_greeting(value)


def _ascii_host(origin: str, host: str) -> str:
    """`host` as browsers put it in `Origin`: lower case, an international name in its
    `xn--` form (IDNA 2008 with UTS #46 mapping, as browsers convert it: `straße` is
    `xn--strae-oqa`, not `strasse`). Its labels must be a domain name's (`_host_problem`)."""
    if _ASCII_HOST.fullmatch(host):
        ascii_host = host.lower()
    else:
        import idna  # httpx's own dependency; only for the rare international name

        try:
            ascii_host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise _BadPart(
                f"{origin!r} is not an origin: its host is not a valid domain name ({exc})"
            ) from None
    problem = _host_problem(ascii_host)
    if problem is not None:
        raise _BadPart(
            f"{origin!r} is not an origin: its host is not a valid domain name ({problem})"
        )
    return ascii_host


def _host_problem(host: str) -> str | None:
    """What makes `host` (lower case, ASCII) no domain name a browser could send, or None."""
    if len(host) > 253:
        return "longer than 253 characters"
    for label in host.split("."):
        if not label:
            return "an empty label: two dots in a row, or a dot at the start or the end"
        if len(label) > 63:
            return f"the label {label[:20]!r}... is longer than 63 characters"
        if not _LABEL.fullmatch(label):
            return f"the label {label!r} starts or ends with '-'"
    return None


def webchat_settings(raw: Mapping[str, Any], *, source: str = "<tenant>") -> WebChatSettings:
    """Validate a web chat binding; errors name the file and the key."""
    return channel_settings(WebChatSettings, raw, source=source, channel="web chat")
