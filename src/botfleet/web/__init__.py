"""JSON HTTP APIs on Starlette alone: routes declared with their OpenAPI description.

The data plane's routes are a handful per tenant; FastAPI would add ~6 MB to every tenant's
process for them (docs/decisions.md, "The data plane on Starlette"). The control plane, one per
fleet, stays on FastAPI.
"""

from __future__ import annotations

from botfleet.web.app import JsonApi
from botfleet.web.errors import InvalidRequest
from botfleet.web.inputs import json_body, query_of, read_body
from botfleet.web.operations import Operation, under

__all__ = [
    "InvalidRequest",
    "JsonApi",
    "Operation",
    "json_body",
    "query_of",
    "read_body",
    "under",
]
