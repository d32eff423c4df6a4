"""What the routes relayed to a tenant's data plane (`contacts`, `tasks`) share: their error
answers in OpenAPI, ``Cache-Control: no-store``, and a busy data plane's ``Retry-After``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import HTTPException

from botfleet.control_plane.models import ErrorBody
from botfleet.control_plane.services.data_plane_relay import RELAY_TIMEOUT_S, DataPlaneError

#: Answers no caller may cache: they hold a person's data.
NO_STORE = {"Cache-Control": "no-store"}

DATA_PLANE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "the tenant has no data_plane_url, or no data_plane credentials (the "
        "data plane's DP_INTERNAL_TOKEN): the answer says which to set",
    },
    502: {
        "model": ErrorBody,
        "description": "the data plane is unreachable, refused the stored token, does not "
        "answer /health as this tenant's (the token is then not sent), or answered wrongly "
        "(the answer names its origin only)",
    },
    503: {
        "model": ErrorBody,
        "description": "the data plane is busy (`Retry-After` says when to retry; an erasure "
        "finishes what is left when called again), or the database is unavailable",
    },
    504: {
        "model": ErrorBody,
        "description": f"the data plane did not answer within {RELAY_TIMEOUT_S:g} s",
    },
}


@contextmanager
def relayed() -> Iterator[None]:
    """A busy data plane's 503 keeps its ``Retry-After`` (the error handler sets no headers)."""
    try:
        yield
    except DataPlaneError as exc:
        if exc.retry_after is None:
            raise
        headers = {"Retry-After": str(exc.retry_after)}
        raise HTTPException(exc.status_code, str(exc), headers=headers) from None
