"""ControlPlaneClient errors never show a `user:password@` written in the control plane's URL."""

from __future__ import annotations

import httpx
import pytest

from botfleet.control_plane.client import (
    ControlPlaneClient,
    ControlPlaneConnectionError,
    mask_url,
)

URL = "http://ops:hunter2@cp.example:8001"


def _refuse(request: httpx.Request) -> httpx.Response:
    # httpx puts the request URL, userinfo included, in some messages (e.g. proxies, TLS).
    raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)


@pytest.mark.parametrize("call", ["health", "list_tenants"])
def test_a_connection_error_masks_the_password_in_the_url(call: str) -> None:
    with ControlPlaneClient(URL, "admin-key", transport=httpx.MockTransport(_refuse)) as client:
        with pytest.raises(ControlPlaneConnectionError) as caught:
            getattr(client, call)()
    error = caught.value
    assert "hunter2" not in str(error) and "ops" not in str(error)
    assert "hunter2" not in error.url + error.reason
    assert error.url == "http://***@cp.example:8001"
    assert "cannot reach the control plane at http://***@cp.example:8001" in str(error)
    assert "http://***@cp.example:8001/" in error.reason


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("http://u:p@h/x", "http://***@h/x"),
        ("https://u:p%40q@h:1 and http://plain/", "https://***@h:1 and http://plain/"),
        ("http://u:p@ss@h/", "http://***@h/"),  # a raw "@" in the password
        ("no url here: a@b", "no url here: a@b"),
    ],
)
def test_mask_url(text: str, masked: str) -> None:
    assert mask_url(text) == masked
