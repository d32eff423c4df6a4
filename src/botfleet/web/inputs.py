"""Query strings and JSON bodies validated by pydantic models, their errors as 422s."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from botfleet.web.errors import InvalidRequest

M = TypeVar("M", bound=BaseModel)

#: The JSON parser's words for what a sender can act on, in theirs (`_worded_json`).
_SURROGATE = re.compile(r"(?:unexpected end of|lone leading surrogate in) hex escape (at .*)")
_NOT_UTF8 = re.compile(r"invalid unicode code point (at .*)")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed `limit` bytes (from
    Content-Length, else while reading: a lying or absent Content-Length is caught too)."""
    too_large = HTTPException(413, detail=f"request body is over the limit of {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise HTTPException(400, detail="Content-Length header is not a number")
        if int(declared) > limit:
            raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def query_of(model: type[M], request: Request) -> M:
    """`model` from the query string (the last value of a repeated name; unknown names are
    ignored), or `InvalidRequest` naming each bad parameter as `["query", name]`."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise InvalidRequest.of(exc, "query") from None


def json_body(model: type[M], raw: bytes) -> M:
    """`model` from a JSON body, or `InvalidRequest` naming each bad field as `["body", ...]`
    (without the values: a body may carry what should not come back in an error)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        refused = InvalidRequest.of(exc, "body", include_input=False)
        for error in refused.errors:
            if error.get("type") == "json_invalid":
                error["msg"] = _worded_json(str(error.get("msg", "")))
        raise refused from None


def _worded_json(message: str) -> str:
    """pydantic's `Invalid JSON: unexpected end of hex escape at line 1 column 34` for a lone
    surrogate (`"\\ud800"`: half of a pair, no character) and `invalid unicode code point`
    for bytes that are not UTF-8, said as what they are; other messages as they are."""
    if found := _SURROGATE.search(message):
        return (
            f"Invalid JSON: a \\u escape {found[1]} is half of a surrogate pair (a lone "
            "surrogate, which is no character): send the text as UTF-8, or escape a character "
            "beyond U+FFFF as both halves"
        )
    if found := _NOT_UTF8.search(message):
        return f"Invalid JSON: the body is not UTF-8 text {found[1]}"
    return message


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI `parameters` of a query model: one per field, by its alias."""
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        description = field_schema.pop("description", None)
        if description:
            parameter["description"] = description
        parameter["schema"] = field_schema
        parameters.append(parameter)
    return parameters
