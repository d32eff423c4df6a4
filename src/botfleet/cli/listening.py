"""The listening sockets of a server, bound before its application starts.

uvicorn binds its port only after the app's start-up has run: a data plane started on a port
another process holds pulled its configuration, replayed its pending messages and started its
scheduler (beside the data plane already serving that tenant on the same files, when that is who
holds the port) before failing. Binding first makes a taken port a refusal that touched nothing.
Bound as asyncio's `create_server` binds a host (every address the name resolves to), which
uvicorn then serves (`Server.run(sockets=...)`).
"""

from __future__ import annotations

import errno
import socket

__all__ = ["bind_listening_sockets"]


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


def port_problem(host: str, port: int, setting: str, exc: OSError) -> str:
    """One line for an operator: why `port` (given by `setting`) cannot be listened on."""
    where = f"port {port} on {host or 'every interface'} ({setting})"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where} is in use by another process (another data plane of this tenant?): stop "
            f"it, or give this one another port; nothing was started"
        )
    if exc.errno == errno.EACCES:
        return f"{where}: permission denied (ports below 1024 need privileges); use another port"
    return f"cannot listen on {where}: {exc.strerror or exc}"
