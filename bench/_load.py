"""An asyncio load generator: keep-alive workers POSTing bodies with headers, latencies kept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

#: (path, body, extra headers) of the next request of a worker; None: that worker is done.
NextRequest = Callable[[int], tuple[str, bytes, Mapping[str, str]] | None]


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


async def _post(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
) -> int:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def run_load(
    port: int, workers: int, duration_s: float, next_request: NextRequest
) -> LoadResult:
    """`workers` connections, each sending back to back until `duration_s` has passed."""
    result = LoadResult()
    deadline = time.perf_counter() + duration_s
    host = f"127.0.0.1:{port}"

    async def worker(w: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline and (req := next_request(w)) is not None:
                t0 = time.perf_counter()
                try:
                    status = await _post(reader, writer, host, *req)
                except (ConnectionError, asyncio.IncompleteReadError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                if status == 200:
                    result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                else:
                    result.errors += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    result.seconds = time.perf_counter() - t0
    return result
