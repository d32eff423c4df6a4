"""ControlPlaneClient sends an id of `.` or `..` as itself, never as a dot segment httpx would
resolve: `delete_credentials("acme", "..")` went out as `DELETE /v1/tenants/acme`, the
tenant's deletion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from botfleet.control_plane.client import ControlPlaneClient
from botfleet.control_plane.path_segments import path_segment

ERASED = {
    "contact_id": "..",
    "conversation": False,
    "messages_received": 0,
    "messages_sent": 0,
    "scheduled_tasks": 0,
}


def _answer(request: httpx.Request) -> httpx.Response:
    if request.method == "DELETE" and "/contacts/" in request.url.path:
        return httpx.Response(200, json=ERASED)
    if request.method == "DELETE":
        return httpx.Response(204)
    return httpx.Response(200, json={"contact_id": "."})


@pytest.mark.parametrize(
    ("call", "sent"),
    [
        (
            lambda c: c.delete_credentials("acme", ".."),
            "DELETE /v1/tenants/acme/credentials/%2E%2E",
        ),
        (lambda c: c.revoke_api_key("acme", ".."), "DELETE /v1/tenants/acme/api-keys/%2E%2E"),
        (lambda c: c.erase_contact("acme", ".."), "DELETE /v1/tenants/acme/contacts/%2E%2E"),
        (lambda c: c.export_contact("acme", "."), "GET /v1/tenants/acme/contacts/%2E"),
        (lambda c: c.export_contact("acme", "a/b?c"), "GET /v1/tenants/acme/contacts/a%2Fb%3Fc"),
        (lambda c: c.export_contact("acme", "..."), "GET /v1/tenants/acme/contacts/..."),
    ],
)
def test_every_id_stays_one_segment(call: Callable[[Any], Any], sent: str) -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _answer(request)

    transport = httpx.MockTransport(record)
    with ControlPlaneClient("http://cp.test/prefix", "k", transport=transport) as client:
        call(client)
    (request,) = seen
    method, path = sent.split(" ")
    assert (request.method, request.url.raw_path.decode()) == (method, f"/prefix{path}")


@pytest.mark.parametrize(
    ("value", "segment"),
    [(".", "%2E"), ("..", "%2E%2E"), ("...", "..."), ("a.b", "a.b"), ("-1:t", "-1%3At"), (7, "7")],
)
def test_path_segment(value: str | int, segment: str) -> None:
    assert path_segment(value) == segment
