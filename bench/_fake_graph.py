"""A fake WhatsApp Graph API: answers `POST /<version>/<id>/messages` and counts them per `to`.

    python -m bench._fake_graph --port 8999

Plain asyncio streams (keep-alive HTTP/1.1, Content-Length bodies), one process of its own so
it does not share the data plane's CPU accounting. `GET /stats` returns
`{"total": n, "by_to": {contact: n}}`; `GET /arrivals` returns `{contact: [unix time, ...]}`, when
each call for that contact arrived (the bench's end-to-end reply latency).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter

counts: Counter[str] = Counter()
arrivals: dict[str, list[float]] = {}
_ids = itertools.count(1)


def _response(status: int, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def handle_request(method: str, path: str, body: bytes) -> tuple[int, bytes]:
    if method == "GET" and path == "/stats":
        return 200, json.dumps({"total": sum(counts.values()), "by_to": counts}).encode()
    if method == "GET" and path == "/arrivals":
        return 200, json.dumps(arrivals).encode()
    if method == "GET" and path == "/health":
        return 200, b"{}"
    if method == "POST" and path.endswith("/messages"):
        to = str(json.loads(body).get("to", ""))
        counts[to] += 1
        arrivals.setdefault(to, []).append(time.time())
        reply = {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.fake{next(_ids)}"}]}
        return 200, json.dumps(reply).encode()
    return 404, b"{}"


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while request_line := await reader.readline():
            method, path = request_line.decode().split()[:2]
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            status, body = handle_request(method, path, await reader.readexactly(length))
            writer.write(_response(status, body))
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main_async(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(args.port))


if __name__ == "__main__":
    main()
