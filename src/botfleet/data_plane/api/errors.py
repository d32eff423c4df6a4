"""Exception handlers of the data plane: a store that cannot be used right now is a 503; a
message id another contact already used is a 409.

Providers (Meta, Telegram) and web chat clients retry a 5xx later, so a locked or full state
file delays a message instead of losing it: nothing was journaled, and the retry is processed
once. The answer names no file or SQL; the log line does (for the operator).
"""

from __future__ import annotations

from time import monotonic

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from botfleet.domain.errors import (
    ConcurrentUpdate,
    MessageIdConflict,
    Overloaded,
    StoreUnavailable,
)

log = structlog.get_logger("botfleet.data_plane")

#: Seconds a client is asked to wait before retrying.
RETRY_AFTER_S = 5
#: How long `/health` says `degraded` after a request was refused for the store.
STORE_TROUBLE_S = 60.0


class StoreTrouble:
    """The last time a request was refused because the state file could not be used, for
    `/health`: without it the data plane said `ok` (and the control plane's fleet view too)
    while a full disk refused every message. Kept a minute, so it clears by itself once the
    retries go through."""

    def __init__(self, window_s: float = STORE_TROUBLE_S) -> None:
        self.window_s = window_s
        self._at: float | None = None
        self._cause = ""

    def record(self, cause: str) -> None:
        self._at, self._cause = monotonic(), cause

    def recent(self) -> str | None:
        """What the last refusal said, while it is recent; None otherwise."""
        if self._at is None or monotonic() - self._at > self.window_s:
            return None
        return self._cause


async def _retry_later(request: Request, exc: Exception) -> JSONResponse:
    # Not str(exc): it quotes the contact id, unscrubbed here (the turn's own log line, if
    # any, has the full text scrubbed).
    # The route's template, not the path: `/contacts/{contact_id}` holds a phone number.
    route = getattr(request.scope.get("route"), "path", None) or request.url.path
    log.error(
        "store_unavailable",
        path=route,
        error=type(exc).__name__,
        cause=getattr(exc, "cause", None),
    )
    # Counted as well as logged: a full disk on a webhook tenant shows only as 503s to the
    # provider, which an operator's alert cannot see in the logs alone.
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        runtime.metrics.store_unavailable.inc()
    trouble = getattr(request.app.state, "store_trouble", None)
    if isinstance(trouble, StoreTrouble):
        cause = getattr(exc, "cause", None)
        trouble.record(str(cause) if cause else type(exc).__name__)
    return _retry_response("the tenant's message store is busy or unavailable; retry later")


async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


async def _overloaded(request: Request, exc: Exception) -> JSONResponse:
    # Logged (at most every few seconds) and counted by the runtime, not per request here.
    return _retry_response("too many messages are waiting to be processed; retry later")


def _retry_response(detail: str) -> JSONResponse:
    return JSONResponse(
        {"detail": detail}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
    )


def install_error_handlers(app: Starlette) -> None:
    """Map the store's transient failures and a full backlog to 503 with `Retry-After`."""
    app.state.store_trouble = StoreTrouble()
    app.add_exception_handler(StoreUnavailable, _retry_later)
    app.add_exception_handler(ConcurrentUpdate, _retry_later)
    app.add_exception_handler(Overloaded, _overloaded)
    app.add_exception_handler(MessageIdConflict, _conflict)
