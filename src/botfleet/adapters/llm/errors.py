"""Provider failures translated into the platform's `ConnectorError` tree (no secrets, short)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from botfleet.adapters.connectors.retry_after import retry_after_s
from botfleet.domain.errors import (
    ConnectorError,
    ConnectorRateLimited,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
)

_DETAIL_LIMIT = 200

#: Added to a 404: the provider's own text is often a bare "Not Found" (a `base_url` that is
#: not the API root: Anthropic's with `/v1`, which the SDK adds itself, an Ollama one without).
_NOT_FOUND_HINT = {
    "anthropic": "check the model name, and that base_url is the API root without /v1",
    "openai_compatible": "check the model name, and that base_url is the API root up to /v1",
}


class LLMRateLimited(ConnectorRateLimited):
    """The provider answered 429: retryable later, after `retry_after` seconds if it said.

    The connectors' own `ConnectorRateLimited`, so the resilience layer treats both alike."""

    def __init__(self, provider: str, retry_after: float | None = None) -> None:
        after = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        super().__init__(f"{provider}: rate limited (HTTP 429){after}", retry_after=retry_after)


class LLMRequestRefused(ConnectorRejected):
    """The provider refused the request (an HTTP 4xx other than 401, 403, 408 and 429).

    The message (logged) quotes the provider's own words; `shown` is what the data plane's
    /usage may show of it, which a tenant key below editor reads through the control plane."""

    def __init__(self, provider: str, status: int, detail: str, hint: str | None) -> None:
        self.status = status
        head = f"{provider}: request refused (HTTP {status})"
        tail = f" ({hint})" if hint else ""
        super().__init__(head + (f": {detail}" if detail else "") + tail)
        # A 404 is about the address or the model, never the request's content: its words
        # ('model "x" not found') are the cause. Any other refusal may quote the request back
        # (a 400 listing the message it could not read), i.e. the contact's question or the
        # knowledge document: those words stay in the log.
        if status == 404 or not detail:
            self.shown = str(self)
        else:
            self.shown = f"{head}; the provider's words are in the data plane's log{tail}"


def shown_detail(error: ConnectorError) -> str:
    """What may be shown of a provider failure outside the log (see `LLMRequestRefused`)."""
    return error.shown if isinstance(error, LLMRequestRefused) else str(error)


def error_detail(body: Any, secret: str | None = None) -> str:
    """The provider's own error message from a JSON error body, shortened, without `secret`.

    Providers may quote the request back ("bad key sk-..."); the message is logged, so the API
    key is cut out before it is shortened (shortening first could leave part of it).
    """
    error = body.get("error", body) if isinstance(body, dict) else body
    message = error.get("message") if isinstance(error, dict) else error
    text = str(message) if message else ""
    if secret:
        text = text.replace(secret, "[redacted]")
    return text[:_DETAIL_LIMIT]


def status_error(
    provider: str, status: int, body: Any = None, headers: Any = None, *, secret: str | None = None
) -> ConnectorError:
    """The `ConnectorError` for an HTTP error status from the provider's API (never `secret`)."""
    if status == 429:
        return LLMRateLimited(provider, retry_after_s(headers))
    if status == 408:
        return ConnectorTimeout(f"{provider}: request timed out (HTTP 408)")
    if status >= 500:  # includes Anthropic's 529 "overloaded"
        return ConnectorUnavailable(f"{provider}: server error (HTTP {status})")
    if 300 <= status < 400:
        return redirected(provider, status, headers)
    if status in (401, 403):
        return ConnectorRejected(
            f"{provider}: credentials refused (HTTP {status}); check the LLM API key"
        )
    hint = _NOT_FOUND_HINT.get(provider) if status == 404 else None
    return LLMRequestRefused(provider, status, error_detail(body, secret), hint)


def redirected(provider: str, status: int, headers: Any = None) -> ConnectorError:
    """A redirect is configuration, not an outage: not retried. Not followed either (a 307/308
    would resend the key to wherever it points), so the message says where it pointed, origin
    only: a query string may carry a token."""
    location = str(headers.get("location") or "") if headers is not None else ""
    try:
        target = urlsplit(location)
    except ValueError:  # "http://[::1" and the like: where it points is not said
        target, location = urlsplit(""), ""
    if target.netloc:  # "https://host/...", or "//host/..." (the request's own scheme)
        host = target.netloc.rpartition("@")[2]  # never a user:password
        scheme = f"{target.scheme}:" if target.scheme else ""
        where = f" to {scheme}//{host}"[:_DETAIL_LIMIT]
    elif location:
        where = " to another path on the same host"
    else:
        where = ""
    return ConnectorRejected(
        f"{provider}: the API answered with a redirect (HTTP {status}){where}, which is not "
        "followed: set the LLM base_url to the address the provider documents"
    )


def malformed_response(provider: str) -> ConnectorError:
    """The API answered, but not with JSON (a proxy's or a portal's page...): like a 502."""
    return ConnectorUnavailable(f"{provider}: the API's answer is not JSON")


def connection_error(provider: str, *, timed_out: bool) -> ConnectorError:
    if timed_out:
        return ConnectorTimeout(f"{provider}: no answer in time")
    return ConnectorUnavailable(f"{provider}: cannot reach the API")
