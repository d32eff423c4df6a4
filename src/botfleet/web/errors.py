"""Error answers in FastAPI's shapes: `{"detail": "..."}` and 422 `{"detail": [errors]}`.

The same shapes as the control plane's, so a client (and docs/channels.md) reads errors of
both planes alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class InvalidRequest(Exception):
    """A request whose parameters or body break their schema: answered 422, naming each place."""

    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = [dict(error) for error in errors]

    @classmethod
    def of(cls, exc: ValidationError, *where: str, include_input: bool = True) -> InvalidRequest:
        """pydantic's errors, each `loc` prefixed by `where` (e.g. "query", or "body")."""
        errors = exc.errors(include_url=False, include_context=False, include_input=include_input)
        for error in errors:
            error["loc"] = (*where, *error["loc"])
        return cls(errors)


async def http_error(request: Request, exc: Exception) -> Response:
    """`HTTPException` (raised by routes, and by Starlette for 404 and 405) as JSON."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code < 200 or exc.status_code in (204, 304):  # these may carry no body
        return Response(status_code=exc.status_code, headers=headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidRequest)
    # `input` may hold bytes or other values JSON cannot carry as they are.
    return JSONResponse({"detail": to_jsonable_python(exc.errors, fallback=str)}, status_code=422)


#: Handlers every `JsonApi` installs.
JSON_ERROR_HANDLERS = {HTTPException: http_error, InvalidRequest: invalid_request}
