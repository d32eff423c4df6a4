"""YAML parsing with a line for every key and item, and duplicate keys reported."""

from __future__ import annotations

from textwrap import dedent

import pytest

from botfleet.flows.yaml_lines import (
    YamlSyntaxError,
    line_of,
    load_with_lines,
    parent_path,
)


def test_every_key_and_sequence_item_has_its_line() -> None:
    doc = load_with_lines(
        dedent(
            """\
            id: x
            states:
              MENU:
                transitions:
                  - on_payload: a
                    target: A
                  - target: B
            """
        )
    )
    assert doc.data["states"]["MENU"]["transitions"][1] == {"target": "B"}
    assert doc.lines["id"] == 1
    assert doc.lines["states.MENU"] == 3
    assert doc.lines["states.MENU.transitions[0]"] == 5
    assert doc.lines["states.MENU.transitions[0].target"] == 6
    assert doc.lines["states.MENU.transitions[1].target"] == 7
    assert doc.duplicates == ()


def test_line_of_a_missing_path_is_its_nearest_parent() -> None:
    lines = {"": 1, "states": 2, "states.MENU": 3, "states.MENU.on_enter[0]": 5}
    assert line_of(lines, "states.MENU.on_enter[0].text") == 5
    assert line_of(lines, "states.OTHER.fallback") == 2
    assert line_of({}, "states") is None
    assert parent_path("a.b[2]") == "a.b"
    assert parent_path("a.b") == "a"
    assert parent_path("a") == ""


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    doc = load_with_lines("a: 1\nb: 2\na: 3\n")
    assert doc.data == {"a": 3, "b": 2}
    assert len(doc.duplicates) == 1
    problem = doc.duplicates[0]
    assert (problem.path, problem.line) == ("a", 3)
    assert "duplicate key 'a' (first defined on line 1)" in problem.message


def test_merge_keys_overridden_locally_are_not_duplicates() -> None:
    doc = load_with_lines("base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n")
    assert doc.data["item"] == {"x": 1, "y": 3}
    assert doc.duplicates == ()


def test_malformed_yaml_gives_the_line_and_the_parser_message() -> None:
    with pytest.raises(YamlSyntaxError) as info:
        load_with_lines("a: 1\nb: [1, 2\nc: 3\n")
    assert info.value.problem.line is not None
    assert info.value.problem.line >= 2
    assert "invalid YAML" in info.value.problem.message
    assert "flow sequence" in info.value.problem.message


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(YamlSyntaxError, match="recursive alias"):
        load_with_lines("a: &x\n  - *x\n")


def test_alias_bombs_are_refused() -> None:
    layers = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        layers.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    with pytest.raises(YamlSyntaxError, match="too large"):
        load_with_lines("\n".join(layers) + "\n")


def test_empty_document_is_none() -> None:
    assert load_with_lines("# nothing\n").data is None


def test_control_characters_are_a_located_syntax_error() -> None:
    with pytest.raises(YamlSyntaxError) as info:
        load_with_lines("a: 1\nb: \x1f\n")
    assert info.value.problem.line == 2
    assert "0x001f is not allowed" in info.value.problem.message
