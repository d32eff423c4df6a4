"""One walker names places in JSON documents for every check (bodies, credentials, binding URLs
and the tenant URL policy), so all of them name a list item the same way: ``x[0]``."""

from __future__ import annotations

import math

import pytest

from botfleet.control_plane.binding_schemas import validate_channel
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.json_places import Leaf, first_bad_place, leaves, loc_place
from botfleet.control_plane.url_policy import url_places


def test_leaves_name_members_with_dots_and_items_with_brackets() -> None:
    document = {"a": [1, {"b": "x"}], "c": {"d": [[True]]}}
    found = [(leaf.place, leaf.key, leaf.value) for leaf in leaves(document) if not leaf.is_key]
    assert found == [
        ("body.a[0]", "a", 1),
        ("body.a[1].b", "b", "x"),
        ("body.c.d[0][0]", "d", True),
    ]


def test_each_key_comes_before_its_member_and_skipped_members_are_not_entered() -> None:
    found = list(leaves({"Allowed_Origins": ["http://x"], "y": 1}, "w", skip={"allowed_origins"}))
    assert found == [
        Leaf("w (an object key)", None, "Allowed_Origins", is_key=True),
        Leaf("w (an object key)", None, "y", is_key=True),
        Leaf("w.y", "y", 1),
    ]


def test_json_text_is_entered_once_at_its_place_and_depth_is_bounded() -> None:
    values = {"info": '{"token_uri": "https://t.example", "inner": "{\\"a\\": 1}"}'}
    entered = [(leaf.place, leaf.value) for leaf in leaves(values, json_text=True)]
    assert ("body.info.token_uri", "https://t.example") in entered
    assert ("body.info.inner", '{"a": 1}') in entered
    assert [leaf.place for leaf in leaves(values) if not leaf.is_key] == ["body.info"]
    deep: object = "bottom"
    for _ in range(5):
        deep = [deep]
    # Past the depth nothing is looked into, but it is there: one leaf says so, for a check
    # that must see everything (the URL policy) to refuse it rather than miss what it holds.
    assert list(leaves(deep, max_depth=4)) == [
        Leaf("body[0][0][0][0][0]", None, "bottom", too_deep=True)
    ]
    assert list(leaves(deep, max_depth=3)) == [
        Leaf("body[0][0][0][0]", None, ["bottom"], too_deep=True)
    ]
    assert list(leaves(deep, max_depth=5)) == [Leaf("body[0][0][0][0][0]", None, "bottom")]
    too_deep_text = {"info": '{"a": ' * 5000 + "1" + "}" * 5000}  # past the JSON parser
    assert [leaf.too_deep for leaf in leaves(too_deep_text, json_text=True)] == [False, True]


def test_loc_place_renders_pydantic_locations_in_the_same_format() -> None:
    assert loc_place("channel", ("allowed_origins", 1)) == "channel.allowed_origins[1]"
    assert loc_place("x", ()) == "x"


def test_first_bad_place_keeps_its_places() -> None:
    assert first_bad_place({"a": [1.0, math.nan]}, lambda v: v != v) == "body.a[1]"
    assert first_bad_place({"k" * 80: 1}, lambda v: v == 1) == f"body.{'k' * 64}"
    assert first_bad_place({"a": {"bad": 1}}, lambda v: False, bad_key=lambda k: k == "bad") == (
        "body.a (an object key)"
    )


def test_binding_urls_and_the_url_policy_name_a_list_item_alike() -> None:
    """The same list item is named the same way by the check for credentials in a binding URL,
    by the settings model's own errors and by the tenant URL policy."""
    origins = ["https://shop.example", "https://bob:pw@shop.example"]
    with pytest.raises(InvalidInput) as in_url:
        validate_channel({"type": "webchat", "allowed_origins": origins})
    assert in_url.value.field == "channel.allowed_origins[1]"
    assert "pw" not in str(in_url.value)
    with pytest.raises(InvalidInput) as by_model:
        validate_channel({"type": "webchat", "allowed_origins": ["https://shop.example", 5]})
    assert by_model.value.field == "channel.allowed_origins[1]"
    replies = {"llm": {"type": "mock_llm", "replies": ["hi", "http://10.0.0.1/"]}}
    assert [p.path for p in url_places("connectors", replies)] == ["connectors.llm.replies[1]"]
