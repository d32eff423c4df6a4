"""`nesting_exceeds`, the bracket-depth check both planes run before any parser: it agrees with
the real depth of any JSON document and is never fooled by brackets inside strings."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from botfleet.http_guards import nesting_exceeds

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet="[{a", max_size=3), children, max_size=3)
    ),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@given(JSON, st.integers(min_value=0, max_value=8))
def test_agrees_with_the_depth_of_any_json_document(value: Any, limit: int) -> None:
    body = json.dumps(value).encode()
    assert nesting_exceeds(body, limit) == (depth(value) > limit)


def test_brackets_inside_strings_are_text() -> None:
    body = json.dumps({"text": "[" * 10_000 + '\\"{' * 500}).encode()
    assert not nesting_exceeds(body, 2)


def test_a_hundred_thousand_levels_are_caught_in_linear_time() -> None:
    assert nesting_exceeds(b"[" * 100_000 + b"]" * 100_000, 64)
    assert nesting_exceeds(b"{" * 100_000, 64)  # unterminated too
    assert not nesting_exceeds(b"[]" * 100_000, 64)  # many brackets, shallow


# The pattern before the scan was made linear: brackets count outside the strings it removes.
_REFERENCE_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def reference_exceeds(body: bytes, limit: int) -> bool:
    depth = 0
    for byte in _REFERENCE_STRING.sub(b"", body):
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        elif byte in b"]}" and depth:
            depth -= 1
    return False


@given(
    st.binary(max_size=40).map(lambda b: bytes(b'"\\[]{}a'[x % 7] for x in b)), st.integers(0, 4)
)
def test_any_text_gets_the_answer_of_the_plain_substitution(body: bytes, limit: int) -> None:
    """Unclosed quotes and stray backslashes included: only the cost changed."""
    assert nesting_exceeds(body, limit) == reference_exceeds(body, limit)


def test_quotes_that_never_close_are_scanned_once() -> None:
    """Each unclosed quote used to rescan the rest of the body: a 1 MiB body of them held the
    event loop for most of an hour. Brackets after them still count."""
    body = b'"' + b'\\"' * 500_000 + b"[" * 65
    assert nesting_exceeds(body, 64)
    assert not nesting_exceeds(body[:-1], 64)


async def _status_of(guard: Any, path: str, body: bytes) -> tuple[int, str]:
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "headers": []}
    await guard(scope, receive, send)
    status = sent[0]["status"]
    return status, "" if status == 200 else json.loads(sent[1]["body"])["detail"]


async def test_path_limits_apply_to_their_path_only_and_never_raise_the_app_limit() -> None:
    from botfleet.http_guards import BodyGuard

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    guard = BodyGuard(app, max_bytes=100, path_limits={"/small": 10, "/large": 1_000})
    assert await _status_of(guard, "/small", b"x" * 11) == (
        413,
        "request body is over the limit of 10 bytes",
    )
    assert (await _status_of(guard, "/small", b"x" * 10))[0] == 200
    assert (await _status_of(guard, "/other", b"x" * 50))[0] == 200
    # A path's limit above the app's is capped at the app's.
    assert await _status_of(guard, "/large", b"x" * 101) == (
        413,
        "request body is over the limit of 100 bytes",
    )
