"""OpenAPI descriptions of the error answers every authenticated route may give."""

from __future__ import annotations

from typing import Any

from botfleet.control_plane.models import ErrorBody, FlowErrorBody

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong API key"},
    403: {
        "model": ErrorBody,
        "description": "the key may not do this (a disabled tenant's keys may only read)",
    },
    404: {"model": ErrorBody, "description": "no such resource (or another tenant's)"},
    503: {"model": ErrorBody, "description": "the database is unavailable"},
}

FLOW_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": FlowErrorBody, "description": "the flow is invalid; every issue has its line"},
}

UPLOAD_PUBLISH_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "with `?publish=true`: the flow cannot be published; nothing was stored",
    },
}

STALE_CREDENTIALS: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "the new bindings do not fit the published flow, or the stored "
        "credentials of a scope they replace (the answer names the names)",
    },
}
