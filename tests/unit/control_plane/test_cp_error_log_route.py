"""A database error on a contact route is logged by the route's template: the path holds the
contact's phone number, which the control plane's logs never carry."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.routing import Route

from botfleet.control_plane.api.errors import _database_error_handler
from botfleet.control_plane.errors import DatabaseUnavailable
from botfleet.control_plane.metrics import ControlPlaneMetrics


async def test_the_route_template_is_logged_not_the_path(caplog: pytest.LogCaptureFixture) -> None:
    async def endpoint(request: Request) -> None:  # pragma: no cover - never called
        return None

    route = Route("/v1/tenants/{tenant_id}/contacts/{contact_id:path}", endpoint)
    scope = {
        "type": "http",
        "method": "DELETE",
        "path": "/v1/tenants/acme/contacts/34600111222",
        "headers": [],
        "query_string": b"",
        "route": route,
    }
    handle = _database_error_handler(ControlPlaneMetrics())
    answer = await handle(Request(scope), DatabaseUnavailable())
    assert answer.status_code == 503
    [line] = [r.getMessage() for r in caplog.records if "database unavailable" in r.getMessage()]
    # The line's format is whatever the process configured last (JSON, or the CLI's console
    # lines after a CLI test ran in the same process): the template is in it either way.
    assert "/v1/tenants/{tenant_id}/contacts/{contact_id:path}" in line
    assert "600111" not in caplog.text
