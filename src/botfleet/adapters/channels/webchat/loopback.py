"""Whether a web chat request comes from the data plane's own machine (development tools)."""

from __future__ import annotations

from starlette.requests import Request

from botfleet.http_guards import asks_for_this_machine, forwarded, loopback_client


def from_this_machine(request: Request) -> bool:
    """A loopback client that no proxy forwarded (a proxy on the same host connects from
    loopback on behalf of anyone) and that asked for this machine by address or as localhost
    (`http_guards.asks_for_this_machine`), as the data plane's internal routes judge it without
    a token (`data_plane/api/internal_auth.py`)."""
    return (
        not forwarded(request.headers)
        and asks_for_this_machine(request.headers.get("host"))
        and loopback_client(request.client.host if request.client else None)
    )
