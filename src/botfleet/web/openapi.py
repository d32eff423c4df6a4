"""The OpenAPI 3.1 document of a list of `Operation`s, and the Swagger UI page that shows it.

Written here rather than taken from FastAPI, whose generator only works on its own routes.
Schemas come from the pydantic models (`model_json_schema`), shared ones under
`components/schemas`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from botfleet.web.inputs import query_parameters
from botfleet.web.operations import Operation

REF = "#/components/schemas/{model}"

#: The 422 answer of `InvalidRequest` (the same as FastAPI's `HTTPValidationError`).
_VALIDATION_ERROR = {
    "title": "ValidationError",
    "type": "object",
    "required": ["loc", "msg", "type"],
    "properties": {
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"},
        "type": {"type": "string"},
    },
}
_HTTP_VALIDATION_ERROR = {
    "title": "HTTPValidationError",
    "type": "object",
    "properties": {
        "detail": {"type": "array", "items": {"$ref": REF.format(model="ValidationError")}}
    },
}


_CONVERTER = re.compile(r"\{(\w+):\w+\}")


def openapi_document(title: str, version: str, operations: Iterable[Operation]) -> dict[str, Any]:
    """The document: every operation with `in_schema`, by path and method."""
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        if op.in_schema:
            # OpenAPI names a path parameter without Starlette's converter (`{id:path}`).
            path = _CONVERTER.sub(r"{\1}", op.path)
            paths.setdefault(path, {})[op.method.lower()] = _operation(op, schemas)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
    }
    if schemas:
        document["components"] = {"schemas": dict(sorted(schemas.items()))}
    return document


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    described: dict[str, Any] = {"operationId": op.operation_id}
    if op.tags:
        described["tags"] = list(op.tags)
    if op.summary:
        described["summary"] = op.summary
    if op.description:
        described["description"] = op.description
    parameters = [*(query_parameters(op.query) if op.query else ()), *map(dict, op.parameters)]
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.body, schemas, "validation")}},
        }
    answer: dict[str, Any] = {"description": "Successful Response"}
    if op.answer is not None:
        schema = _ref(op.answer, schemas, "serialization")
        answer["content"] = {"application/json": {"schema": schema}}
    responses: dict[str, Any] = {"200": answer}
    for status, text in op.responses.items():
        responses[str(status)] = {"description": text}
    if parameters or op.body is not None:
        schemas["ValidationError"] = _VALIDATION_ERROR
        schemas["HTTPValidationError"] = _HTTP_VALIDATION_ERROR
        error = {"$ref": REF.format(model="HTTPValidationError")}
        responses["422"] = {
            "description": "Validation Error",
            "content": {"application/json": {"schema": error}},
        }
    described["responses"] = responses
    return described


def _ref(model: type[BaseModel], schemas: dict[str, Any], mode: str) -> dict[str, str]:
    schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    found = {**schema.pop("$defs", {}), model.__name__: schema}
    for name, described in found.items():
        # Components are named by class: two different models of one name would overwrite
        # each other's schema silently.
        if schemas.setdefault(name, described) != described:
            raise ValueError(f"two different schemas are named {name!r} in the OpenAPI document")
    return {"$ref": REF.format(model=model.__name__)}


#: Swagger UI's files come from the CDN at this exact version, each checked by the browser
#: against its hash (Subresource Integrity): a changed file is refused, never run on the page
#: (where the control plane's admin key is typed). The hashes are of the files in the npm
#: package (whose registry checksum was verified); docs/decisions.md says how to move on.
SWAGGER_UI_VERSION = "5.36.0"
SWAGGER_UI_CDN = f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}"
SWAGGER_UI_JS_INTEGRITY = "sha384-fUpRgC19yPykTqzdrUbdAg8NTiu16NEKf9U12J+IJWCg8/1mEI8f2+PEIz60Wyd+"
SWAGGER_UI_CSS_INTEGRITY = "sha384-z/AtSaOHGn5MJ5auAHXUypohywlIWLBZo1jeGmhdpVIbCnFhxAH92cwdV41oyINc"


def swagger_page(title: str, openapi_url: str) -> str:
    """Swagger UI for the document at `openapi_url` (its script and styles from a CDN, pinned
    and integrity-checked)."""
    cdn = SWAGGER_UI_CDN
    # crossorigin: a browser checks the integrity of a cross-origin file only when it is
    # fetched with CORS (jsDelivr allows it); without it the file would be refused outright.
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)} - API</title>
<link rel="stylesheet" href="{cdn}/swagger-ui.css"
 integrity="{SWAGGER_UI_CSS_INTEGRITY}" crossorigin="anonymous"></head>
<body><div id="swagger-ui"></div>
<script src="{cdn}/swagger-ui-bundle.js"
 integrity="{SWAGGER_UI_JS_INTEGRITY}" crossorigin="anonymous"></script>
<script>SwaggerUIBundle({{url: {json.dumps(openapi_url)}, dom_id: "#swagger-ui"}});</script>
</body></html>"""
