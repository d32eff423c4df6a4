"""`query_of` decides query strings as FastAPI did for the same declared parameters.

The data plane's routes moved from FastAPI to `botfleet.web`; clients keep their answers only if
every query string is accepted or refused the same way, with the same error per parameter.
FastAPI (still the control plane's framework) is the reference here.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Query
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from botfleet.adapters.channels.webchat.api import MAX_PAGE, MAX_SEQ, MessagesQuery
from botfleet.adapters.channels.webchat.schemas import MAX_ID, SAFE_ID_PATTERN
from botfleet.adapters.channels.whatsapp.webhook import MAX_CHALLENGE, Handshake
from botfleet.web import JsonApi, Operation, query_of


def _reference() -> FastAPI:
    """The web chat's `GET /messages` parameters as they were declared on FastAPI."""
    app = FastAPI()

    @app.get("/messages")
    async def messages(
        contact_id: Annotated[
            str | None, Query(min_length=1, max_length=MAX_ID, pattern=SAFE_ID_PATTERN)
        ] = None,
        since: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> dict[str, Any]:
        return {"contact_id": contact_id, "since": since, "limit": limit}

    @app.get("/webhook")
    async def handshake(
        mode: Annotated[str | None, Query(alias="hub.mode")] = None,
        token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
        challenge: Annotated[str, Query(alias="hub.challenge", max_length=MAX_CHALLENGE)] = "",
    ) -> dict[str, Any]:
        return {"mode": mode, "token": token, "challenge": challenge}

    return app


async def _handshake(request: Request) -> Response:
    return JSONResponse(query_of(Handshake, request).model_dump())


async def _messages(request: Request) -> Response:
    return JSONResponse(query_of(MessagesQuery, request).model_dump())


OURS = JsonApi(
    [
        Operation("GET", "/messages", _messages, query=MessagesQuery),
        Operation("GET", "/webhook", _handshake, query=Handshake),
    ],
    title="t",
)
REFERENCE = _reference()

_NUMBERS = st.one_of(
    st.integers(min_value=-5, max_value=600).map(str),
    st.sampled_from(["", " 5", "5 ", "+3", "1e2", "0x10", "3.0", "3.5", "٣", str(MAX_SEQ)]),
    st.just(str(MAX_SEQ + 1)),
)
_IDS = st.one_of(
    st.text(alphabet="ab:_-.@+ /é", min_size=0, max_size=6),
    st.just("x" * (MAX_ID + 1)),
)
_QUERIES = st.lists(
    st.one_of(
        st.tuples(st.just("contact_id"), _IDS),
        st.tuples(st.sampled_from(["since", "limit"]), _NUMBERS),
        st.tuples(st.just("other"), st.text(max_size=3)),
    ),
    max_size=4,
)


_HANDSHAKES = st.lists(
    st.tuples(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "hub_mode", "mode"]),
        st.one_of(st.text(max_size=4), st.just("c" * (MAX_CHALLENGE + 1))),
    ),
    max_size=4,
)


async def _both(path: str, params: list[tuple[str, str]]) -> tuple[httpx.Response, httpx.Response]:
    answers = []
    for app in (OURS, REFERENCE):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers.append(await client.get(path, params=params))
    return answers[0], answers[1]


def _errors(response: httpx.Response) -> list[tuple[Any, ...]]:
    return sorted((tuple(e["loc"]), e["type"]) for e in response.json()["detail"])


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(params=_QUERIES)
def test_query_strings_are_decided_as_fastapi_decided_them(
    params: list[tuple[str, str]],
) -> None:
    _same(asyncio.run(_both("/messages", params)), params)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(params=_HANDSHAKES)
def test_handshake_parameters_are_read_by_their_aliases_as_fastapi_read_them(
    params: list[tuple[str, str]],
) -> None:
    _same(asyncio.run(_both("/webhook", params)), params)


def _same(answers: tuple[httpx.Response, httpx.Response], params: list[tuple[str, str]]) -> None:
    ours, reference = answers
    assert ours.status_code == reference.status_code, (params, ours.text, reference.text)
    if ours.status_code == 422:
        assert _errors(ours) == _errors(reference), params
    else:
        assert ours.json() == reference.json(), params
