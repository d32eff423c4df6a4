"""Query parameters of the paginated lists (``limit``, ``cursor``) and their ``Link`` header."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from botfleet.control_plane.pagination import DEFAULT_PAGE_SIZE, MAX_CURSOR_LENGTH, MAX_PAGE_SIZE

LimitQuery = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"items per page (1 to {MAX_PAGE_SIZE}, default {DEFAULT_PAGE_SIZE})",
    ),
]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH,
        description="where the page starts: the previous page's next cursor, as it is",
    ),
]

LINK_HEADER_DOC = {
    "Link": {
        "description": "present when there is a next page: "
        '`</v1/...?limit=..&cursor=..>; rel="next"`',
        "schema": {"type": "string"},
    }
}


def link_next(request: Request, response: Response, next_cursor: str | None, limit: int) -> None:
    """Point to the next page (RFC 8288 ``Link``, a relative reference so it holds behind a
    proxy); no header on the last page. Other query parameters are kept."""
    if next_cursor is None:
        return
    params = {**request.query_params, "limit": str(limit), "cursor": next_cursor}
    response.headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
