"""`json_text`/`json_bytes`: orjson's speed, the standard library's answers."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.json_text import json_bytes, json_text

# Every JSON value, lone surrogates and integers beyond 64 bits included (orjson refuses both).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_the_text_reads_back_as_the_standard_librarys_does(value: Any) -> None:
    text = json_text(value)
    assert json.loads(text) == json.loads(json.dumps(value))
    assert json_bytes(value) == text.encode("utf-8")  # also: no unescaped lone surrogate


def test_what_orjson_refuses_goes_through_the_standard_library() -> None:
    assert json_text("\ud83d") == '"\\ud83d"'  # broken UTF-16 from a channel: escaped
    assert json_text(2**70) == str(2**70)
    assert json_text({1: "a"}) == '{"1":"a"}'  # json.dumps turns int keys into strings


def test_the_text_is_compact_and_keeps_key_order_and_non_ascii() -> None:
    assert json_text({"b": [1, 2.5, None], "a": "Peluquería · 10:30"}) == (
        '{"b":[1,2.5,null],"a":"Peluquería · 10:30"}'
    )


@dataclasses.dataclass
class _Point:
    x: int


@pytest.mark.parametrize("value", [datetime(2026, 1, 1, tzinfo=UTC), _Point(1), object()])
def test_values_the_standard_library_refuses_are_refused(value: object) -> None:
    # orjson would write datetimes and dataclasses; callers rely on the refusal.
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text({"value": value})
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_bytes([value])
