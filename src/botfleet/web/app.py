"""`JsonApi`: a Starlette app serving `Operation`s, their OpenAPI document and, when asked,
Swagger UI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Lifespan

from botfleet.web.errors import JSON_ERROR_HANDLERS
from botfleet.web.openapi import openapi_document, swagger_page
from botfleet.web.operations import Operation

OPENAPI_URL = "/openapi.json"
DOCS_URL = "/docs"


class JsonApi(Starlette):
    """The app of `operations` (tried in their order), errors as JSON in FastAPI's shapes,
    `GET /openapi.json`, and `GET /docs` only with `docs=True`.

    Swagger UI is off unless asked for: its page runs a third party's script on the app's
    origin, which on a data plane is the web chat's, whose storage holds each visitor's
    contact id (docs/decisions.md). The OpenAPI document is data and stays.
    """

    def __init__(
        self,
        operations: Sequence[Operation],
        *,
        title: str,
        version: str = "0.1.0",
        lifespan: Lifespan[Any] | None = None,
        docs: bool = False,
    ) -> None:
        self.title = title
        self.version = version
        self.operations = list(operations)
        self._openapi: dict[str, Any] | None = None
        routes = [op.route() for op in self.operations]
        routes.append(Route(OPENAPI_URL, self._openapi_json, include_in_schema=False))
        if docs:
            routes.append(Route(DOCS_URL, self._docs, include_in_schema=False))
        super().__init__(routes=routes, lifespan=lifespan, exception_handlers=JSON_ERROR_HANDLERS)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document (built on first use: a data plane rarely serves it)."""
        if self._openapi is None:
            self._openapi = openapi_document(self.title, self.version, self.operations)
        return self._openapi

    async def _openapi_json(self, request: Request) -> Response:
        return JSONResponse(self.openapi())

    async def _docs(self, request: Request) -> Response:
        return HTMLResponse(swagger_page(self.title, OPENAPI_URL))
