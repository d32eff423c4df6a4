"""`Operation`: one HTTP route and what the OpenAPI document says about it."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    """A route (`method` on `path`, served by `endpoint`) and its documentation.

    Args:
        query: The model the endpoint reads its query string with (`query_of`); documented as
            the operation's parameters.
        parameters: Further OpenAPI parameter objects (read by hand by the endpoint).
        body: The JSON body's model (`json_body`); documented as the request body.
        answer: The model of a 200 answer's JSON.
        responses: Other statuses the endpoint answers -> their description.
        in_schema: False keeps the route out of the OpenAPI document (pages, scripts).
        max_body_bytes: The route's own body limit, below the app's (`BodyGuard`'s
            `path_limits`), so a body over it is refused naming this limit, not the app's.
    """

    method: str
    path: str
    endpoint: Endpoint
    summary: str = ""
    tags: tuple[str, ...] = ()
    query: type[BaseModel] | None = None
    parameters: tuple[Mapping[str, Any], ...] = ()
    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    responses: Mapping[int, str] = field(default_factory=dict)
    in_schema: bool = True
    max_body_bytes: int | None = None

    @property
    def operation_id(self) -> str:
        return re.sub(r"\W", "_", f"{self.endpoint.__name__}{self.path}_{self.method.lower()}")

    @property
    def description(self) -> str:
        return inspect.getdoc(self.endpoint) or ""

    def route(self) -> Route:
        # Starlette answers HEAD for a GET route itself.
        return Route(
            self.path,
            self.endpoint,
            methods=[self.method],
            name=self.operation_id,
            include_in_schema=self.in_schema,
        )


def body_limits(operations: Iterable[Operation]) -> dict[str, int]:
    """Path -> body limit of the operations that set their own (`BodyGuard`'s `path_limits`)."""
    return {op.path: op.max_body_bytes for op in operations if op.max_body_bytes is not None}


def under(prefix: str, operations: Iterable[Operation]) -> list[Operation]:
    """`operations` served under a path prefix (e.g. "/chat")."""
    return [dataclasses.replace(op, path=prefix.rstrip("/") + op.path) for op in operations]
