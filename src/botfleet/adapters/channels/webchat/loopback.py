"""Whether a web chat request comes from the data plane's own machine (development tools)."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from botfleet.http_guards import asks_for_this_machine

#: Headers a reverse proxy adds: a request carrying one came from someone else, not this host.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def from_this_machine(request: Request) -> bool:
    """A loopback client that no proxy forwarded (a proxy on the same host connects from
    loopback on behalf of anyone) and that asked for this machine by address or as localhost
    (`http_guards.asks_for_this_machine`), as the data plane's internal routes judge it without
    a token (`data_plane/api/internal_auth.py`)."""
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    if not asks_for_this_machine(request.headers.get("host")):
        return False
    host = request.client.host if request.client else None
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
