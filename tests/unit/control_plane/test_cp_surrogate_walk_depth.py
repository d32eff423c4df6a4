"""The lone-surrogate check walks any body that parses as JSON, whatever its content type; a
body sent as text is not held to the JSON depth limit, so the walk can run out of stack where
the parser did not (under uvicorn, ~960 levels): refused at the body, not a 500 for anyone."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.control_plane.api import guards


def test_a_walk_deeper_than_the_stack_is_a_refusal_at_the_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def too_deep(value: Any, where: str = "body") -> str | None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(guards, "lone_surrogate_place", too_deep)
    assert guards._lone_surrogate_place(b'{"a": {"b": "\\ud800"}}') == "body"


def test_a_shallow_body_is_placed_exactly() -> None:
    assert guards._lone_surrogate_place(b'{"a": {"b": "\\ud800"}}') == "body.a.b"
    assert guards._lone_surrogate_place(b'{"a": "fine"}') is None
