"""OpenAPI descriptions of the error answers the routes give, with the shapes they have.

Every error is ``{"detail": ...}``; a 422 is either FastAPI's list naming each field or one text
naming the place (a check of the control plane's own). The published schema says so, and
`tests/integration/control_plane/test_cp_openapi_conformance.py` walks real answers through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from botfleet.control_plane.api import errors
from botfleet.control_plane.models import ErrorBody, FlowErrorBody

Responses = dict[int | str, dict[str, Any]]


class FieldProblem(BaseModel):
    """One field FastAPI's validation refused (without ``input`` and ``ctx``: they repeat the
    caller's values, which may be secrets)."""

    loc: list[str | int]
    msg: str
    type: str


class RequestErrorBody(BaseModel):
    """A 422: a list naming each field, ``[{"loc": ["query", "limit"], "msg", "type"}]``, when
    the request does not match the route's schema; one text naming the place (``cursor: ...``,
    ``body.name: ...``, ``due_after: ...``) when a check of the control plane's own refuses it."""

    detail: str | list[FieldProblem]


INVALID_REQUEST: Responses = {
    422: {
        "model": RequestErrorBody,
        "description": "the request is invalid: `detail` is FastAPI's list naming each field, "
        "or one text naming the place and why",
    },
}

AUTH_ERRORS: Responses = {
    401: {"model": ErrorBody, "description": "missing or wrong API key"},
    403: {
        "model": ErrorBody,
        "description": "the key may not do this: its role is below the one the route needs "
        "(the answer names it), the route is the admin's, or the tenant is disabled (its "
        "keys may only read)",
    },
    404: {"model": ErrorBody, "description": "no such resource (or another tenant's)"},
    **INVALID_REQUEST,
    503: {"model": ErrorBody, "description": "the database is unavailable"},
}

BODY_TOO_LARGE: Responses = {
    413: {
        "model": ErrorBody,
        "description": "the body (or the document in it) is over the limit; the answer says both "
        "sizes",
    },
}

#: The 409 any write answers when the database refuses it for a row a concurrent request wrote
#: first (`api/errors.py`). Listed where that can happen: registering a tenant, whose id two
#: requests may both find free before either stores it. Every change of an existing tenant's
#: rows (uploads, publishes, credentials, keys, the boot token, its deletion) first takes the
#: tenant's lock (`services.tenants.get_tenant_for_change`), so concurrent ones wait for each
#: other and each sees the other's rows: they never meet this answer
#: (`tests/integration/control_plane/test_cp_concurrency.py`).
CONCURRENT_CHANGE: Responses = {
    409: {
        "model": ErrorBody,
        "description": f"`{errors.CONCURRENT_CHANGE}`: a request made at the same time "
        "stored a row this one needed (the same tenant id); retrying answers as the database "
        "now stands",
    },
}


def conflicts(*entries: Responses) -> Responses:
    """One 409 entry for a route that may answer 409 for several reasons: the descriptions
    joined (a second entry under one status would replace the first)."""
    descriptions = [entry[409]["description"] for entry in entries]
    return {409: {"model": ErrorBody, "description": "; or ".join(descriptions)}}


UNSUPPORTED_MEDIA_TYPE: Responses = {
    415: {
        "model": ErrorBody,
        "description": "a content type the route does not take, or a charset other than UTF-8 "
        "(the answer lists the types taken)",
    },
}

FLOW_ERRORS: Responses = {
    422: {
        "model": FlowErrorBody | RequestErrorBody,
        "description": "the flow is invalid: `errors` lists every issue with its line; or the "
        "body could not be read as a flow (not UTF-8, not valid JSON): `detail` alone",
    },
}

UPLOAD_PUBLISH_REFUSED: Responses = {
    409: {
        "model": ErrorBody,
        "description": "with `?publish=true`: the flow cannot be published; nothing was stored",
    },
}

ROLLBACK_REFUSED: Responses = {
    409: {
        "model": ErrorBody,
        "description": "nothing to roll back to (nothing published, or no version published "
        "before the current one), or a target that is not before the published version "
        "(publish it instead)",
    },
}

FLOW_PUBLISH_REFUSED: Responses = {
    409: {
        "model": ErrorBody,
        "description": "the flow calls connectors the tenant does not bind (the answer names "
        "each place); bind them first (PATCH the tenant)",
    },
}

FLOW_ROLLBACK_REFUSED: Responses = {
    409: {
        "model": ErrorBody,
        "description": f"{ROLLBACK_REFUSED[409]['description']}; or the target calls connectors "
        "the tenant does not bind",
    },
}

STALE_CREDENTIALS: Responses = {
    409: {
        "model": ErrorBody,
        "description": "the new bindings do not fit the published flow, or the stored "
        "credentials of a scope they replace (the answer names the names)",
    },
}


def as_json(responses: Mapping[int | str, dict[str, Any]]) -> Responses:
    """`responses` with each model's schema given as JSON content, for a route whose own answer
    is not JSON: FastAPI lists a model's schema under the route's media type, so a diff's
    errors were published as ``text/plain``. The models are referenced by name: other routes
    put them in the schema's components."""
    described: Responses = {}
    for code, response in responses.items():
        entry = {key: value for key, value in response.items() if key != "model"}
        model = response.get("model")
        if isinstance(model, type) and issubclass(model, BaseModel):
            ref = {"$ref": f"#/components/schemas/{model.__name__}"}
            entry["content"] = {"application/json": {"schema": ref}}
        described[code] = entry
    return described
