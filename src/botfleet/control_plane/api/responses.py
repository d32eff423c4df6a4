"""OpenAPI descriptions of the error answers every authenticated route may give."""

from __future__ import annotations

from typing import Any

from botfleet.control_plane.models import ErrorBody, FlowErrorBody

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong API key"},
    403: {"model": ErrorBody, "description": "the key may not do this"},
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
