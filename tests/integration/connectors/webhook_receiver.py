"""A webhook receiver on 127.0.0.1 (free port, its own thread): records every request and
answers from a script, so the data plane's real HTTP client can be tested without the internet.

    with running_receiver() as receiver:
        receiver.script = [Reply(503), Reply(200)]
        ... POST to receiver.url ...
        receiver.requests[0].json()
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A scripted answer: a status, headers and a body, after holding the request `delay_s`."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    body: bytes = b"ok"


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, url: str) -> None:
        self.url = url
        self.script: list[Reply] = [Reply()]
        self.requests: list[Received] = []
        self.released = threading.Event()  # ends every held request (teardown)
        self._lock = threading.Lock()

    def take(self, request: Received) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self.script[min(len(self.requests), len(self.script)) - 1]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = receiver.take(Received("POST", self.path, headers, body))
            if reply.delay_s and receiver.released.wait(reply.delay_s):
                return  # released at teardown: no answer
            payload = reply.body
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a timeout under test) is expected


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    server = _Server(("127.0.0.1", 0), _handler(Receiver("")))
    host, port = server.server_address[:2]
    receiver = Receiver(f"http://{host!s}:{port}/hooks/botfleet")
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(
        target=lambda: server.serve_forever(poll_interval=0.05),
        name="webhook-receiver",
        daemon=True,
    )
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
