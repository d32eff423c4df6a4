"""One boot pull: ``GET /v1/boot/{tenant}`` with the boot token (and the ETag when we have one)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from pydantic import ValidationError

from botfleet.domain.errors import BotPlatformError
from botfleet.domain.tenants import BOOT_SCHEMA_VERSION, BootPayload


class BootError(BotPlatformError):
    """The boot configuration could not be pulled; `reason` says why (never a secret)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = url, reason
        super().__init__(f"boot pull from {url}: {reason}")


class ControlPlaneUnreachable(BootError):
    """Network error, timeout or a 5xx/429 answer: try again later, use the cache meanwhile."""


class BootRefused(BootError):
    """The control plane said no (401 wrong token, 403 disabled tenant, 409 nothing published)."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        self.status = status
        super().__init__(url, f"HTTP {status}: {detail}")


class BootPayloadInvalid(BootError):
    """The answer is not a boot payload this data plane can read."""


@dataclass(frozen=True, slots=True)
class BootFetched:
    payload: BootPayload
    #: The ``ETag`` header as sent (with its quotes), for ``If-None-Match``.
    etag: str


def boot_url(base_url: str, tenant_id: str) -> str:
    return f"{base_url.rstrip('/')}/v1/boot/{quote(tenant_id, safe='')}"


def shown_url(url: str) -> str:
    """`url` as errors and logs show it: without a ``user:password@`` part."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _sending_failed(url: str, exc: Exception) -> BootError:
    """The error for a request that got no answer, without the library's message where it
    could quote the request's headers (h11 quotes a refused header value: the bearer token)."""
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException | httpx.NetworkError):
        # Connect errors and timeouts: the text comes from the socket layer, never a header.
        return ControlPlaneUnreachable(url, f"{name}: {exc}")
    if isinstance(exc, httpx.LocalProtocolError | UnicodeEncodeError):
        return BootError(
            url,
            f"{name}: the request could not be sent (a header value is not valid: is BOOT_TOKEN "
            "one line of printable ASCII characters?)",
        )
    return ControlPlaneUnreachable(url, f"{name} (its message is not logged: it can quote headers)")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail)[:200] if detail else response.reason_phrase


async def fetch_boot(
    http: httpx.AsyncClient,
    base_url: str,
    tenant_id: str,
    boot_token: str,
    *,
    etag: str | None = None,
) -> BootFetched | None:
    """The tenant's boot payload, or None when `etag` is still current (304).

    Raises:
        ControlPlaneUnreachable: network error, timeout, 5xx or 429.
        BootRefused: any other non-200 answer (the control plane's ``detail`` is kept).
        BootPayloadInvalid: a 200 whose body is not this tenant's payload.
    """
    url = boot_url(base_url, tenant_id)
    shown = shown_url(url)
    headers = {"Authorization": f"Bearer {boot_token}", "Accept": "application/json"}
    if etag:
        headers["If-None-Match"] = etag
    try:
        response = await http.get(url, headers=headers)
    except (httpx.HTTPError, UnicodeEncodeError) as exc:  # no answer; httpx encodes headers
        raise _sending_failed(shown, exc) from None
    if response.status_code == 304:
        return None
    if response.status_code != 200:
        # A proxy's error page could echo the request: the token never goes on.
        detail = _detail(response)
        if boot_token:
            detail = detail.replace(boot_token, "[BOOT_TOKEN]")
        if response.status_code >= 500 or response.status_code == 429:
            raise ControlPlaneUnreachable(shown, f"HTTP {response.status_code}: {detail}")
        raise BootRefused(shown, response.status_code, detail)
    try:
        payload = BootPayload.model_validate_json(response.content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "-"
        raise BootPayloadInvalid(shown, f"not a boot payload ({where}: {first['msg']})") from None
    if payload.schema_version > BOOT_SCHEMA_VERSION:
        raise BootPayloadInvalid(
            shown,
            f"boot schema version {payload.schema_version} is newer than this data plane's "
            f"({BOOT_SCHEMA_VERSION}): upgrade the data plane image",
        )
    if payload.tenant.id != tenant_id:
        raise BootPayloadInvalid(
            shown, f"payload of tenant {payload.tenant.id!r}, not {tenant_id!r}"
        )
    return BootFetched(payload, response.headers.get("etag") or f'"{payload.etag()}"')
