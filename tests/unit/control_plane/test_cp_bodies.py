"""Upload bodies: text that is not Unicode is refused as input (422), never a 500."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.types import Message

from botfleet.control_plane.api.bodies import lone_surrogate_place, read_document
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.services.versions import check_size


def _request(body: bytes, content_type: str) -> Request:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", content_type.encode())]
    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


def test_lone_surrogates_are_found_with_their_place() -> None:
    assert lone_surrogate_place({"a": ["ok", "\U0001f600", {"b": "x\ud800"}]}) == "body.a[2].b"
    assert lone_surrogate_place({"\udfff": 1}) == "body (an object key)"
    assert lone_surrogate_place({"a": ["ok", 1, None, {"b": "é"}]}) is None


async def test_a_json_document_with_a_lone_surrogate_is_invalid_input() -> None:
    request = _request(b'{"yaml": "id: x\\ud800"}', "application/json")
    with pytest.raises(InvalidInput, match=r"body\.yaml: holds a lone surrogate"):
        await read_document(
            request, what="flow", json_field="yaml", text_types=("text/yaml",), limit=1000
        )


def test_check_size_refuses_a_lone_surrogate_as_input() -> None:
    with pytest.raises(InvalidInput, match="character 3 is a lone surrogate"):
        check_size("flow", "id:\ud800", 100)
