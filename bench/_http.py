"""A minimal keep-alive HTTP/1.1 JSON client on asyncio streams, for driving load.

httpx's connection pool costs milliseconds per request at 32 concurrent requests, which would
make the client, not the server, the bottleneck. One `Connection` per worker, no pooling.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class Connection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        self._reader, self._writer, self._host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def post_json(self, path: str, body: Any) -> tuple[int, bytes]:
        """(status, body) of `POST path` with a JSON body."""
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        self._writer.write(head.encode() + payload)
        return await self._read_response()

    async def _read_response(self) -> tuple[int, bytes]:
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
            elif name.strip().lower() == b"transfer-encoding":
                raise ValueError("chunked responses are not supported by this bench client")
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()
