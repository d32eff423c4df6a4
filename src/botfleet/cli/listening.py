"""The listening sockets of a server, bound before its application starts.

uvicorn binds its port only after the app's start-up has run: a data plane started on a port
another process holds pulled its configuration, replayed its pending messages and started its
scheduler (beside the data plane already serving that tenant on the same files, when that is who
holds the port), and a control plane ran its migrations and logged `control plane started`,
before failing. Binding first makes a taken port a refusal that touched nothing. Bound as
asyncio's `create_server` binds a host (every address the name resolves to), which uvicorn then
serves (`serve_on`). Both `serve` commands start so.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

__all__ = ["bind_listening_sockets", "port_problem", "serve_on"]


def bind_listening_sockets(host: str, port: int) -> list[socket.socket]:
    """Bound sockets for `host` (empty: every interface) and `port`, one per resolved address.
    Raises OSError (the first failure; the sockets bound before it are closed)."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    bound: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:
                continue  # a family this machine lacks: asyncio skips it too
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                # As asyncio: an IPv6 socket leaves IPv4 to the IPv4 one the host resolves to.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError:
        for sock in bound:
            sock.close()
        raise
    if not bound:
        raise OSError(errno.EAFNOSUPPORT, f"no address of {host!r} can be listened on here")
    return bound


def port_problem(host: str, port: int, setting: str, exc: OSError, *, holder: str) -> str:
    """One line for an operator: why `port` (given by `setting`) cannot be listened on.
    `holder` is the likeliest other process on a taken port (``another control plane``)."""
    where = f"port {port} on {host or 'every interface'} ({setting})"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where} is in use by another process ({holder}?): stop it, or give this one "
            f"another port; nothing was started"
        )
    if exc.errno == errno.EACCES:
        return f"{where}: permission denied (ports below 1024 need privileges); use another port"
    return f"cannot listen on {where}: {exc.strerror or exc}"


def serve_on(config: uvicorn.Config, sockets: list[socket.socket]) -> None:
    """Serve `config`'s app on `sockets` (`bind_listening_sockets`) until stopped, ending as
    `uvicorn.run` does: Ctrl-C quietly, and SystemExit(3) when the app did not start."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            # uvicorn says where it listens (`Uvicorn running on ...`, an info line) only for
            # the sockets it binds itself; given sockets, it assumes a parent process said it.
            if self.started and sockets:
                self._log_started_message(sockets)

    server = Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=sockets)
    if not server.started:
        raise SystemExit(3)
