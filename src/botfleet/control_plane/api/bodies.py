"""Document uploads: raw text (YAML, markdown) or JSON ``{<field>: text}``, size-limited."""

from __future__ import annotations

import codecs
import json
from typing import Any

from fastapi import Request

from botfleet.control_plane.errors import (
    ControlPlaneError,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from botfleet.control_plane.json_places import first_bad_place
from botfleet.flows.suggestions import closest

#: Why a string with a lone surrogate is refused (it names no value: the value may be a secret).
LONE_SURROGATE = (
    "holds a lone surrogate (an unpaired \\ud800-\\udfff escape), which is not Unicode text"
)


def _is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def lone_surrogate_place(value: Any, where: str = "body") -> str | None:
    """Where the first string or object key holding a lone surrogate is (``body.name``,
    ``body[1]``), or None. Python's JSON parser lets ``"\\ud800"`` through, but such a string
    cannot be encoded: stored, hashed or sent back, it fails."""
    return first_bad_place(value, _not_unicode_string, where, bad_key=_not_unicode)


def _not_unicode(text: str) -> bool:
    return not _is_unicode(text)


def _not_unicode_string(value: Any) -> bool:
    return isinstance(value, str) and not _is_unicode(value)


async def _read_limited(request: Request, what: str, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(what, int(declared), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(what, size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def json_body_limit(document_limit: int) -> int:
    """The largest JSON body read for a document of at most `document_limit` bytes: JSON may
    escape any byte of it as ``\\u00XX`` (six bytes), and the object around it is small."""
    return 6 * document_limit + 64 * 1024


class UnsupportedCharset(UnsupportedMediaType):
    """A document body declared in a character set other than UTF-8 (415)."""

    def __init__(self, charset: str, content_type: str) -> None:
        ControlPlaneError.__init__(
            self,
            f"charset {charset[:40]!r} is not accepted: send the text as UTF-8 ({content_type}; "
            "charset=utf-8, or no charset), converted first if it is not (e.g. iconv -t "
            "UTF-8); the text is stored and served as UTF-8",
        )


#: Character sets a document may be declared in: UTF-8, and ASCII (a subset of it).
UTF8_CHARSETS = frozenset({"utf-8", "ascii"})


def declared_charset(header: str) -> str | None:
    """The ``charset`` parameter of a Content-Type header, as given (quotes removed), or
    None."""
    for parameter in header.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').strip()
    return None


def _check_charset(header: str, content_type: str) -> None:
    """Refuse (415) a body declared in another charset than UTF-8: decoding it as UTF-8
    would refuse it as "not UTF-8" or, worse, store mojibake. Names are compared as Python
    knows them (``UTF8``, ``us-ascii`` pass; ``latin-1``, ``utf-16`` and unknown names
    do not)."""
    charset = declared_charset(header)
    if charset is None:
        return
    try:
        known = codecs.lookup(charset).name
    except (LookupError, ValueError):
        known = ""
    if known not in UTF8_CHARSETS:
        raise UnsupportedCharset(charset, content_type)


#: Unknown fields named in an answer (each cut to this many characters): a body's keys are
#: the caller's text.
_SHOWN_FIELDS, _SHOWN_FIELD_CHARS = 5, 40


def _unknown_fields(body: dict[str, Any], json_field: str) -> str:
    """``unknown field(s): 'yml' (did you mean 'yaml'?)``: the fields of an upload's JSON body
    other than its one field, the likely misspelling of it pointed out."""
    unknown = sorted(set(body) - {json_field})
    named = []
    for name in unknown[:_SHOWN_FIELDS]:
        shown = repr(name[:_SHOWN_FIELD_CHARS])
        if json_field not in body and closest(name, [json_field]) is not None:
            shown += f" (did you mean {json_field!r}?)"
        named.append(shown)
    more = f" and {len(unknown) - _SHOWN_FIELDS} more" if len(unknown) > _SHOWN_FIELDS else ""
    return f"unknown field(s): {', '.join(named)}{more}"


async def read_document(
    request: Request, *, what: str, json_field: str, text_types: tuple[str, ...], limit: int
) -> str:
    """The uploaded text, whichever way it was sent. Errors name the field or content type.

    `limit` applies to the document's UTF-8 bytes, however it was sent: as JSON it may arrive
    escaped into a larger body, which is read up to `json_body_limit` only. A body must be
    UTF-8: one declared in another ``charset`` answers 415 (`UnsupportedCharset`), one that
    is not valid UTF-8 422. A leading byte order mark is dropped.
    """
    header = request.headers.get("content-type", "")
    content_type = header.split(";")[0].strip().lower()
    accepted = (*text_types, "application/json")
    if content_type not in accepted:
        raise UnsupportedMediaType(content_type or "<none>", accepted)
    _check_charset(header, content_type)
    if content_type == "application/json":
        raw = await _read_limited(request, f"the JSON body of the {what}", json_body_limit(limit))
    else:
        raw = await _read_limited(request, what, limit)
    if content_type == "application/json":
        body = _parsed_json(raw)
        shape = f"send a JSON object {{{json_field!r}: text}}"
        if isinstance(body, dict) and set(body) - {json_field}:
            raise InvalidInput("body", f"{_unknown_fields(body, json_field)}; {shape}")
        if not isinstance(body, dict) or not isinstance(body.get(json_field), str):
            raise InvalidInput(f"body.{json_field}", shape)
        text: str = body[json_field]
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidInput(f"body.{json_field}", LONE_SURROGATE) from None
        if size > limit:
            raise PayloadTooLarge(what, size, limit)
    else:
        problem = not_utf8(raw)
        if problem is not None:
            raise problem
        text = raw.decode("utf-8")
    if "\x00" in text:
        raise InvalidInput("body", "contains NUL characters")
    # A byte order mark (Notepad writes one) marks the file's encoding, it is no character of
    # the document: kept, it would start every prompt and show as a change of line 1 in diffs.
    return text.removeprefix("\ufeff")


#: Content types a JSON-object body may come with: none, and curl's default for ``-d``
#: (``application/x-www-form-urlencoded``), are read as JSON too, so the command in the docs
#: works as typed. No cross-site form can use that: every such route needs an API key header.
_JSON_OBJECT_TYPES = ("application/json", "", "application/x-www-form-urlencoded")


def reads_as_json(content_type: str) -> bool:
    """Whether some route reads a body of this content type (lower case, no parameters) as
    JSON: ``application/json``, ``*+json`` and none (FastAPI's body models, `read_json_object`,
    a document upload's JSON), and curl's form default (`read_json_object`)."""
    return content_type in _JSON_OBJECT_TYPES or content_type.endswith("+json")


def not_utf8(raw: bytes) -> InvalidInput | None:
    """The 422 of a body that is not UTF-8, naming the first byte that is not, or None."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return InvalidInput("body", f"not UTF-8 text (byte {exc.start}); send the text as UTF-8")
    return None


def check_json_charset(header: str) -> None:
    """Refuse (415, `UnsupportedCharset`) a JSON body declared in a charset other than UTF-8:
    JSON is UTF-8, and Python's parser reads the bytes as UTF-8 whatever the header says.
    `header`: the request's Content-Type."""
    _check_charset(header, header.split(";")[0].strip().lower() or "application/json")


def _parsed_json(raw: bytes) -> Any:
    """A body's JSON; 422 ``body: not UTF-8 text (byte N)`` or ``body: not valid JSON``. A lone
    surrogate written as bytes is read (Python's parser allows it): the caller names its
    place."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise not_utf8(raw) or InvalidInput("body", "not valid JSON") from None
    except ValueError:
        raise InvalidInput("body", "not valid JSON") from None


async def read_json_object(request: Request) -> dict[str, Any]:
    """A JSON object body. Errors name the place, never a value (it may be a secret)."""
    header = request.headers.get("content-type", "")
    content_type = header.split(";")[0].strip().lower()
    if not reads_as_json(content_type):
        raise UnsupportedMediaType(content_type, ("application/json",))
    check_json_charset(header)
    body = _parsed_json(await request.body())
    if not isinstance(body, dict):
        raise InvalidInput("body", "send a JSON object")
    place = lone_surrogate_place(body)
    if place is not None:
        raise InvalidInput(place, LONE_SURROGATE)
    return body


def document_request_body(json_field: str, text_types: tuple[str, ...]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of an upload route (its body is read by `read_document`)."""
    text_schema: dict[str, Any] = {"type": "string"}
    json_schema: dict[str, Any] = {
        "type": "object",
        "properties": {json_field: {"type": "string"}},
        "required": [json_field],
        "additionalProperties": False,
    }
    content: dict[str, Any] = {media: {"schema": text_schema} for media in text_types}
    content["application/json"] = {"schema": json_schema}
    return {"requestBody": {"required": True, "content": content}}


def unchanged_upload_response(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answer of an upload whose text is the latest version's (`unchanged`)."""
    return {
        200: {
            "model": model,
            "description": "the text is the latest version's: that version, with "
            '`"unchanged": true` (published too with `?publish=true`); nothing was stored',
        }
    }


def json_object_request_body(description: str, example: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a route whose body is read by `read_json_object`."""
    schema: dict[str, Any] = {"type": "object", "additionalProperties": True}
    media = {"schema": schema, "example": example}
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": media},
        }
    }
