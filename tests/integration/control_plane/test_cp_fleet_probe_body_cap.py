"""The fleet probe stops reading a data plane's answer past MAX_BODY_BYTES: a local server
answering an endless /health body (no Content-Length, or a huge one) is cut off, not read whole."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from botfleet.control_plane.services.fleet import MAX_BODY_BYTES, DataPlaneProbe

HUGE = 256 * MAX_BODY_BYTES
CHUNK = b"0," * 32768


class HugeServer:
    def __init__(self, *, declare_length: bool) -> None:
        self.sent = 0
        self.done = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    if declare_length:
                        self.send_header("Content-Length", str(HUGE))
                    self.end_headers()
                    self.wfile.write(b"[")
                    while owner.sent < HUGE:
                        self.wfile.write(CHUNK)
                        owner.sent += len(CHUNK)
                except OSError:
                    pass
                finally:
                    owner.done.set()
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(params=[False, True], ids=["no-length", "huge-length"])
def server(request: pytest.FixtureRequest) -> Iterator[HugeServer]:
    running = HugeServer(declare_length=request.param)
    yield running
    running.close()


async def test_a_huge_health_answer_is_cut_off_at_the_cap(server: HugeServer) -> None:
    async with httpx.AsyncClient() as client:
        result = await DataPlaneProbe(client, timeout_s=20).probe(server.url)

    assert result.status == "degraded"
    assert f"answer larger than {MAX_BODY_BYTES} bytes" in result.errors[0]
    assert server.done.wait(10)
    # What the sockets' buffers took (tens of MiB on loopback) before the probe hung up,
    # never the whole answer.
    assert server.sent < 64 * MAX_BODY_BYTES
