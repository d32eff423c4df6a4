"""A tiny fake Kubernetes API server (127.0.0.1, a thread): the REST calls the orchestrator
makes, objects kept in a dict, every request recorded. No cluster needed."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

_OBJECT = re.compile(
    r"^/(?:api/v1|apis/apps/v1)/namespaces/(?P<ns>[^/]+)/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?"
    r"(?P<proxy>/proxy/(?P<path>.*))?$"
)


@dataclass
class Recorded:
    method: str
    path: str
    content_type: str
    body: Any


@dataclass
class FakeKubernetes:
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    #: (namespace, service name) -> the JSON the data plane answers at /health.
    health: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    url: str = ""
    #: Kinds the orchestrator's service account may not touch (answered 403).
    forbidden: set[str] = field(default_factory=set)
    _version: int = 0

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        return self.objects[(plural, namespace, name)]

    def calls(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method]

    def handle(self, method: str, path: str, content_type: str, body: Any) -> tuple[int, Any]:
        path, _, query = path.partition("?")
        path = unquote(path)
        self.requests.append(Recorded(method, path, content_type, body))
        match = _OBJECT.match(path)
        if match is None:
            return 404, _status(404, f"no route {path}")
        ns, plural, name = match["ns"], match["plural"], match["name"]
        if plural in self.forbidden:
            return 403, _status(403, f"{plural} is forbidden")
        if match["proxy"] is not None:
            service = (name or "").split(":")[0]
            answer = self.health.get((ns, service))
            return (200, answer) if answer is not None else (503, _status(503, "no endpoints"))
        if method == "POST":
            name = body["metadata"]["name"]
            if (plural, ns, name) in self.objects:
                return 409, _status(409, f'{plural} "{name}" already exists')
            self._version += 1
            stored = {
                **body,
                "metadata": {**body["metadata"], "resourceVersion": str(self._version)},
            }
            self.objects[(plural, ns, name)] = stored
            return 201, stored
        if method == "GET" and name is None:  # a list: every object of the kind in the namespace
            selector = parse_qs(query).get("labelSelector", [""])[0]
            wanted = dict(pair.split("=", 1) for pair in selector.split(",") if "=" in pair)
            items = [
                o
                for (p, n, _), o in self.objects.items()
                if (p, n) == (plural, ns)
                and wanted.items() <= o.get("metadata", {}).get("labels", {}).items()
            ]
            return 200, {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items}
        key = (plural, ns, name or "")
        if key not in self.objects:
            return 404, _status(404, f'{plural} "{name}" not found')
        if method == "GET":
            return 200, self.objects[key]
        if method == "PATCH":
            self.objects[key] = _merge(self.objects[key], body)
            return 200, self.objects[key]
        if method == "DELETE":  # services and claims answer the object, the others a Status
            deleted = self.objects.pop(key)
            if plural in ("services", "persistentvolumeclaims"):
                return 200, deleted
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200}
        return 405, _status(405, method)


def _status(code: int, message: str) -> dict[str, Any]:
    reason = {403: "Forbidden", 404: "NotFound", 409: "AlreadyExists"}.get(code, "Failure")
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
            "reason": reason, "code": code}  # fmt: skip


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base.get(key), value) if value is not None else None
        return {k: v for k, v in merged.items() if v is not None}
    return patch


@contextmanager
def fake_kubernetes() -> Iterator[FakeKubernetes]:
    fake = FakeKubernetes()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, answer = fake.handle(
                self.command, self.path, self.headers.get("Content-Type", ""), body
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
