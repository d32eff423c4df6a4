"""An ASGI app served by uvicorn on 127.0.0.1 in a thread, for the chat's browser tests: a
browser needs a real address, which Starlette's TestClient does not give."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serve(app: Any, sock: socket.socket | None = None, lifespan: str = "off") -> Iterator[str]:
    """`app` served on `sock` (else a free port, closed after), its base URL given; stopped at
    the end. `lifespan="auto"` runs the app's own start-up, as a data plane's."""
    own = sock is None
    if sock is None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started:
            break
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(10)
        if own:
            sock.close()
