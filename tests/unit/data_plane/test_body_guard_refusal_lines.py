"""`BodyGuard` writes one line per body it refuses: the routes never see those requests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import structlog.testing

from botfleet.http_guards import BodyGuard


async def ok_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def client() -> httpx.AsyncClient:
    guarded = BodyGuard(ok_app, max_bytes=100, max_depth=3)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded), base_url="http://dp")


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (b"x" * 101, 413, {"reason": "too_large", "limit": 100, "size": 101}),
        (b"[[[[1]]]]", 422, {"reason": "too_deep", "limit": 3}),
    ],
)
async def test_a_refused_body_is_logged_without_the_contact_part_of_the_path(
    body: bytes, status: int, expected: dict[str, Any]
) -> None:
    async with client() as http:
        with structlog.testing.capture_logs() as logs:
            response = await http.post("/contacts/34600111222/erase", content=body)
    assert response.status_code == status
    (line,) = [line for line in logs if line["event"] == "request_body_refused"]
    assert line["status"] == status and line["method"] == "POST"
    assert line["path"] == "/contacts"  # a later segment can be a phone number
    assert {key: line[key] for key in expected} == expected
    assert "34600111222" not in repr(logs)


async def test_an_accepted_body_writes_no_line() -> None:
    async with client() as http:
        with structlog.testing.capture_logs() as logs:
            response = await http.post("/inbound", content=b'{"a": [1]}')
    assert response.status_code == 200
    assert [line for line in logs if line["event"] == "request_body_refused"] == []
