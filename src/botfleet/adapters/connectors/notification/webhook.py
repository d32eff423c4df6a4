"""`webhook`: tells the business what happened by POSTing to a URL it controls.

One operation, `send` (params: `event`, `contact_id`, `text`, and any others, which become
`data`; see `payload`). Each call is one POST of the notification, signed when the binding has
a `secret`, with an `Idempotency-Key` derived from the call's idempotency key so the receiver
can drop a repeat (a retry after a timeout may deliver twice). Answers, as the resilience
layer (`data_plane/resilience/`) expects them:

* 2xx: `{delivered: true, status, id, response}`, `response` the receiver's JSON object or
  array, else None (see `answer`: bounded, never logged);
* 408, 5xx, no answer, a failed connection: `ConnectorUnavailable` / `ConnectorTimeout`,
  retried;
* 429: `ConnectorRateLimited` with its `Retry-After`, retried if the wait fits;
* 3xx (redirects are not followed) and other 4xx: `ConnectorRejected`, not retried: the
  flow's `on_error` runs.

Timeouts, retries with backoff and the circuit breaker are the data plane's, never this
adapter's. `send` is a creating operation: it is retried only with an idempotency key (the
engine always gives one).

No request leaves a long-lived connection behind: each call opens the data plane's provider
HTTP client (`adapters/provider_http.py`, httpx behind an egress proxy) and closes it, since
a tenant notifies a few times a day at most. Errors and log lines name the status or what
failed, never the URL (hook URLs are often capabilities, and may come from the tenant's
credentials) nor a header value. Errors do not name the call (`notification.crm.send`) either:
whoever reports them does (`connector_failed`: `notification.send: rejected the webhook
refused ...`). Behind an egress proxy the client is httpx's, which logs each request's URL at
INFO: `HideHookUrls` shows a hook's as its scheme and host there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from botfleet.adapters.connectors.notification import payload
from botfleet.adapters.connectors.notification.answer import WebhookReply, response_of
from botfleet.adapters.connectors.notification.settings import WebhookSettings
from botfleet.adapters.connectors.retry_after import retry_after_s
from botfleet.adapters.provider_api import (
    ProviderCallFailed,
    ProviderTimedOut,
    ProviderUnreachable,
)
from botfleet.domain.errors import (
    ConnectorRateLimited,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
    UnknownOperation,
)
from botfleet.ports.clock import Clock

if TYPE_CHECKING:
    from botfleet.adapters.provider_http import ProviderClient
    from botfleet.adapters.provider_httpx import HttpxProvider

SEND = "send"
OPERATIONS = frozenset({SEND})

#: What a refusal means, by status: the hint an operator needs to fix it.
_HINTS = {
    400: "check that the receiver accepts this body (format: json or slack)",
    401: "check the token (and token_header), or the signing secret, the receiver expects",
    403: "check the token or the signing secret, or whether the hook was disabled",
    404: "check the url: the hook may have been deleted",
    410: "the hook was deleted or disabled: set a new url",
    413: "the notification is too large for the receiver",
    422: "check that the receiver accepts this body (format: json or slack)",
}


class RawHttp(Protocol):
    """What the connector needs of an HTTP client: one request with a body sent as it is
    (the signature is over those exact bytes), and its answer's body. `ProviderClient` and
    `HttpxProvider` fit."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> WebhookReply: ...


#: Opens a client for one call (closed after it).
ClientOpener = Callable[[], AbstractAsyncContextManager[RawHttp]]


class HideHookUrls(logging.Filter):
    """httpx logs every request at INFO (``HTTP Request: POST <url> "HTTP/1.1 200 OK"``): the
    URL of a webhook this process posts to is shown as ``https://host/<hidden>`` instead (its
    path and query are often the hook's key: Slack, Zapier, ``?sig=`` of Power Automate)."""

    def __init__(self) -> None:
        super().__init__()
        #: (host, path) of every webhook's URL.
        self.hooks: set[tuple[str, str]] = set()

    def add(self, url: str) -> None:
        self.hooks.add(_host_and_path(url))

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if self.hooks and isinstance(args, tuple) and len(args) >= 2:
            url = str(args[1])
            if _host_and_path(url) in self.hooks:
                parts = urlsplit(url)
                record.args = (args[0], f"{parts.scheme}://{parts.hostname}/<hidden>", *args[2:])
        return True


def _host_and_path(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url.strip())
        return (parts.hostname or "").lower(), unquote(parts.path or "/")
    except ValueError:
        return "", ""


def hide_in_httpx_logs(url: str) -> None:
    """Show `url` as its scheme and host in httpx's request log lines (see `HideHookUrls`)."""
    logger = logging.getLogger("httpx")
    found = [f for f in logger.filters if isinstance(f, HideHookUrls)]
    hider = found[0] if found else HideHookUrls()
    if not found:
        logger.addFilter(hider)
    hider.add(url)


def _provider_client() -> AbstractAsyncContextManager[RawHttp]:
    from botfleet.adapters.provider_http import provider_http_client

    return provider_http_client(max_in_flight=4)


class WebhookConnector:
    """POSTs notifications to the binding's URL. Satisfies `Connector`.

    Args:
        settings: the parsed binding.
        clock: the runtime's clock (`sent_at` and the signed timestamp).
        category: the key under `connectors:`.
        http: a client to use for every call, owned by the caller (tests: an `HttpxProvider`
            over respx or a mock transport). None: a provider client opened per call.
        open_client: how a per-call client is opened (default: `provider_http_client`).
    """

    #: Sending is creating: retried only with an idempotency key (the receiver's dedupe key).
    creating_operations = OPERATIONS
    #: A send the receiver did not take may be kept and made again (`ports.redelivery`).
    redeliverable_operations = OPERATIONS

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        clock: Clock,
        category: str = "notification",
        http: RawHttp | None = None,
        open_client: ClientOpener | None = None,
    ) -> None:
        self.settings = settings
        self.category = category
        self._clock = clock
        self._http = http
        self._open_client = open_client or _provider_client
        #: The binding's `redeliver_for`: None, a failed notification is not kept.
        self.redeliver_for = settings.redelivery_window
        hide_in_httpx_logs(settings.url)

    def __repr__(self) -> str:  # the URL may be a capability: only its host is shown
        host = urlsplit(self.settings.url).hostname or "?"
        return f"WebhookConnector(category={self.category!r}, host={host!r})"

    def operations(self) -> frozenset[str]:
        return OPERATIONS

    def queued_answer(self, operation: str, params: Mapping[str, Any], key: str) -> Any:
        """A send kept for later: not delivered yet; `id` is the one it will carry."""
        return payload.queued_answer(key)

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        if operation not in OPERATIONS:
            raise UnknownOperation(self.category, operation, OPERATIONS)
        now = self._clock.now()
        ready = payload.prepare(
            params,
            idempotency_key=idempotency_key,
            format=self.settings.format,
            sent_at=now,
        )
        event, raw = ready.notification.event, ready.raw
        headers = self._headers(event, ready.id, int(now.timestamp()), raw)
        reply = await self._post(raw, headers)
        return _answer(reply, ready.id)

    def _headers(
        self, event: str, notification_id: str, timestamp: int, raw: bytes
    ) -> dict[str, str]:
        settings = self.settings
        headers = {
            **settings.headers,
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": payload.USER_AGENT,
            payload.IDEMPOTENCY_HEADER: notification_id,
            payload.EVENT_HEADER: event,
            payload.TIMESTAMP_HEADER: str(timestamp),
        }
        if settings.secret is not None:
            secret = settings.secret.get_secret_value()
            headers[payload.SIGNATURE_HEADER] = payload.signature(secret, timestamp, raw)
        if settings.token is not None:
            token = settings.token.get_secret_value()
            bearer = settings.token_header.lower() == "authorization"
            headers[settings.token_header] = f"Bearer {token}" if bearer else token
        return headers

    async def _post(self, raw: bytes, headers: dict[str, str]) -> WebhookReply:
        url, timeout = self.settings.url, self.settings.request_timeout_s
        try:
            if self._http is not None:
                return await self._http.request(
                    "POST", url, data=raw, headers=headers, timeout=timeout
                )
            async with self._open_client() as client:
                return await client.request("POST", url, data=raw, headers=headers, timeout=timeout)
        # Raised `from None`: a chained cause could show the URL or a header.
        except ProviderUnreachable as exc:
            raise ConnectorUnavailable(
                f"the webhook's host could not be reached ({exc.cause})"
            ) from None
        except ProviderTimedOut:
            raise ConnectorTimeout(f"the webhook did not answer within {timeout:g}s") from None
        except ProviderCallFailed as exc:
            raise ConnectorUnavailable(
                f"the connection failed before the webhook answered ({exc.cause})"
            ) from None
        except ValueError:  # the client could not write the request (checked settings: rare)
            raise ConnectorRejected(
                "the request could not be written: check url and headers"
            ) from None


def _answer(reply: WebhookReply, notification_id: str) -> dict[str, Any]:
    status = reply.status_code
    if 200 <= status < 300:
        response = response_of(reply)
        return {"delivered": True, "status": status, "id": notification_id, "response": response}
    if status == 429:
        raise ConnectorRateLimited(
            "the webhook asked to slow down (HTTP 429)",
            retry_after=retry_after_s(reply.headers),
        )
    if status == 408 or status >= 500 or status < 200:
        raise ConnectorUnavailable(f"the webhook answered HTTP {status}")
    if 300 <= status < 400:
        raise ConnectorRejected(
            f"the webhook answered with a redirect (HTTP {status}), which is not "
            "followed: set url to the address it points to",
            status=status,
        )
    hint = _HINTS.get(status)
    raise ConnectorRejected(
        f"the webhook refused the notification (HTTP {status})" + (f": {hint}" if hint else ""),
        status=status,
    )


def build(
    settings: Mapping[str, Any],
    *,
    clock: Clock,
    category: str = "notification",
    http: RawHttp | None = None,
    open_client: ClientOpener | None = None,
) -> WebhookConnector:
    """The `webhook` connector from raw tenant settings (no network until the first call).

    Raises:
        pydantic.ValidationError: the settings are invalid (the caller reports a config error).
    """
    parsed = WebhookSettings.model_validate({"type": "webhook", **settings})
    return WebhookConnector(
        parsed, clock=clock, category=category, http=http, open_client=open_client
    )


if TYPE_CHECKING:  # `make lint` (mypy) checks that both HTTP clients fit

    def _fits(ours: ProviderClient, tests: HttpxProvider) -> tuple[RawHttp, RawHttp]:
        return ours, tests
