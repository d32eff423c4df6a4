"""Who may call a data plane's internal routes (`/tasks`, `/run-task`, `/usage`).

`Authorization: Bearer <DP_INTERNAL_TOKEN>`: 401 without a bearer token, 403 with a wrong one.
Reading routes, with no token configured (local development), answer loopback clients only,
and not requests a proxy forwarded (a reverse proxy on the same host connects from loopback on
behalf of anyone) nor those asking for the data plane by a DNS name (a web page whose site's
name was rebound to 127.0.0.1 reads what it asks its own origin: `asks_for_this_machine`);
routes that act on contacts always need the token.
"""

from __future__ import annotations

import hmac

from starlette.exceptions import HTTPException
from starlette.requests import Request

from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.http_guards import asks_for_this_machine, forwarded, loopback_client


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _check_token(request: Request, expected: str) -> None:
    token = _bearer(request)
    if token is None:
        raise HTTPException(
            401, "an internal bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(403, "wrong internal token")


def check_reader(request: Request, settings: DataPlaneSettings) -> None:
    """Token when one is configured; otherwise loopback clients only (local development),
    unless a proxy forwarded the request or it names the data plane by a DNS name."""
    if settings.internal_token:
        _check_token(request, settings.internal_token)
    elif not loopback_client(request.client.host if request.client else None):
        raise HTTPException(403, "internal routes need DP_INTERNAL_TOKEN outside development")
    elif forwarded(request.headers):
        raise HTTPException(
            403,
            "internal routes answer requests forwarded by a proxy only with a token: "
            "set DP_INTERNAL_TOKEN",
        )
    elif not asks_for_this_machine(request.headers.get("host")):
        raise HTTPException(
            403,
            "internal routes answer a request without a token only when it asks for this "
            "machine as localhost or by IP address, not by a DNS name (a web page can point "
            "its site's name at 127.0.0.1): use http://127.0.0.1:<port>, or set "
            "DP_INTERNAL_TOKEN",
        )


def check_actor(request: Request, settings: DataPlaneSettings) -> None:
    """Always the token: these routes act on contacts."""
    if not settings.internal_token:
        raise HTTPException(403, "this route is disabled: DP_INTERNAL_TOKEN is not set")
    _check_token(request, settings.internal_token)
