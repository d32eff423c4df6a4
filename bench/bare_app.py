"""The baseline: a bare FastAPI `POST /inbound` that only parses the JSON body.

Served with the same `uvicorn.run(app, host=..., port=..., log_level="warning")` call as
`botfleet serve data-plane`, so both get the same event loop and HTTP parser (uvloop and
httptools when installed). It echoes `message_id` so the wrk script can route its replies.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from fastapi import FastAPI, Request


def create_bare_app() -> FastAPI:
    app = FastAPI(title="bare baseline")

    @app.post("/inbound")
    async def inbound(request: Request) -> dict[str, Any]:
        body = json.loads(await request.body())
        return {"message_id": str(body.get("message_id", "")), "duplicate": False, "replies": []}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    uvicorn.run(create_bare_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
