"""`botfleet cp` against a plain `http.server` (the wrong --url) and against a real control plane
with ``user:password@`` in its URL: one usage or "not as the control plane does" line, exit 2;
the control plane's own 404 keeps its message and exit 1."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from botfleet.cli.main import app

#: The ports this test may listen on.
PORTS = range(18500, 18550)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[str]:
    """`python -m http.server` on an empty folder: 404 pages to GET, 501 to anything else."""
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
        break
    else:
        pytest.skip(f"no free port in {PORTS.start}-{PORTS.stop - 1}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def cp(url: str, key: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["cp", "--url", url, "--key", key, *args])


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["tenants", "list"], "HTTP 404 File not found with an HTML page titled 'Error response'"),
        (["tenants", "create", "acme"], "HTTP 501 Unsupported method ('POST') with an HTML page "
         "titled 'Error response'"),
        (["tenants", "delete", "acme", "--yes"], "HTTP 501 Unsupported method ('DELETE') with an "
         "HTML page titled 'Error response'"),
    ],
)  # fmt: skip
def test_a_plain_web_server_is_not_taken_for_the_control_plane(
    web_server: str, args: list[str], reason: str
) -> None:
    result = cp(web_server, "some-key", *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {web_server} answered, but not as the control plane does: {reason}; "
        "is --url right?"
    ]


def test_a_password_in_the_url_is_refused_and_the_control_planes_404_kept(
    control_plane: Any,
) -> None:
    """With `user:pw@` in the URL every call failed with `HTTP 401: missing API key`: httpx
    sent the URL's user and password as Basic auth in place of the key."""
    with_password = control_plane.url.replace("http://", "http://ops:pw-13579@")
    refused = cp(with_password, control_plane.admin_key, "tenants", "list")
    assert refused.exit_code == 2, refused.output
    assert "pw-13579" not in refused.output and control_plane.admin_key not in refused.output
    assert "takes an API key" in " ".join(refused.stderr.replace("│", " ").split())

    listed = cp(control_plane.url, control_plane.admin_key, "tenants", "list")
    assert listed.exit_code == 0, listed.output
    missing = cp(control_plane.url, control_plane.admin_key, "tenants", "show", "no-such")
    assert missing.exit_code == 1, missing.output
    assert missing.stderr.splitlines() == ["error: HTTP 404: tenant 'no-such' not found"]
