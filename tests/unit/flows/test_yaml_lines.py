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
        load_with_lines("a: 1\n---\nb: 2\n")
    assert info.value.problem.line == 2
    assert info.value.problem.message == (
        "invalid YAML: expected a single document in the stream; but found another document"
    )


def syntax_error(text: str) -> tuple[int | None, str]:
    """(line, message) of the syntax error of `text`, without the parser's own words that
    follow a message guessing at what the author meant (`... (YAML parser: ...)`)."""
    with pytest.raises(YamlSyntaxError) as info:
        load_with_lines(dedent(text))
    problem = info.value.problem
    assert problem.message.startswith("invalid YAML: ")
    message = problem.message.removeprefix("invalid YAML: ")
    return problem.line, message.split(" (YAML parser: ", 1)[0]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (  # a template unquoted is a YAML mapping whose key is a mapping
            """\
            states:
              A:
                on_enter:
                  - action: send_text
                    text: {{ data.name }}, welcome  # greeting
            """,
            5,
            "`{{` starts a YAML mapping here: put the template in quotes: "
            'text: "{{ data.name }}, welcome"',
        ),
        (
            """\
            a:
              - {{ data.x | upper }}
            """,
            2,
            '`{{` starts a YAML mapping here: put the template in quotes: - "{{ data.x | upper }}"',
        ),
        (  # WhatsApp bold
            """\
            a:
              text: *Hola* y bienvenido
            """,
            2,
            '`*` starts a YAML alias: put the text in quotes: text: "*Hola* y bienvenido"',
        ),
        (
            """\
            a:
              text: @ana "la jefa"
            """,
            2,
            "`@` is reserved in YAML: put the text in quotes: text: '@ana \"la jefa\"'",
        ),
        (
            """\
            a:
              text: Hora: 10:00
            """,
            2,
            'a `: ` inside a value: put the text in quotes: text: "Hora: 10:00"',
        ),
        (
            """\
            a:
              text: "C:\\Users"
            """,
            2,
            'a `\\` inside "double quotes" starts an escape sequence: write `\\\\` for a '
            "backslash, or put the text in 'single quotes'",
        ),
    ],
)
def test_values_yaml_reads_as_syntax_are_explained(text: str, line: int, message: str) -> None:
    assert syntax_error(text) == (line, message)


@pytest.mark.parametrize("quote", ['"', "'"])
def test_an_unclosed_quote_is_reported_where_it_opens(quote: str) -> None:
    text = f"a:\n  text: {quote}Hello\n  b: 1\n"
    assert syntax_error(text) == (
        2,
        f"the quote `{quote}` opened on this line is never closed: add the closing `{quote}` "
        "where the text ends",
    )


def test_a_quote_closed_only_by_a_later_one_is_reported_where_it_opens() -> None:
    text = """\
        on_enter:
          - action: send_text
            text: "Hello
          - action: send_text
            text: "Bye"
        """
    assert syntax_error(text) == (
        3,
        'the quote `"` opened on this line is only closed on line 5: if the text ends on this '
        'line, add the closing `"` here',
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a:\n\tb: 1\n", 2, "this line is indented with a tab: YAML needs spaces: replace the tab"),
        (
            "a:\n  b:\n  \tc: 1\n",
            3,
            "this line is indented with a tab: YAML needs spaces: replace the tab",
        ),
        (
            "a:\tb\n",
            1,
            "a tab character here: YAML allows tabs only inside quoted text: use spaces",
        ),
    ],
)
def test_tabs_are_explained(text: str, line: int, message: str) -> None:
    assert syntax_error(text) == (line, message)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (  # the key's line, not the next one (past the end of the file here)
            "a:\n  b: 1\n  text hello\n",
            3,
            "no `:` in 'text hello': write `key: value`, with a space after the colon",
        ),
        (
            "id: x\ninitial_state:MENU\nstates: {}\n",
            2,
            "no space after the `:` in 'initial_state:MENU': write `key: value`",
        ),
        (  # `B c` reads as one text continued on the next line, then a `:`
            "a:\n  B\n    c: 1\n",
            3,
            "`c:` cannot start here: if it belongs under the line above, end that line with `:`; "
            "otherwise indent it like the other keys next to it",
        ),
    ],
)
def test_a_missing_colon_is_explained(text: str, line: int, message: str) -> None:
    assert syntax_error(text) == (line, message)


_ITEM_NOT_LINED_UP = (
    "this list item (`- `) is not lined up: start it at the same column as the other items of "
    "its list, indented under the key that holds the list"
)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a:\n  b:\n    - x\n  - y\n", 4),  # less indented than its list
        ("a:\n  b: 1\n  - x\n", 3),  # a list item among keys
        (  # more indented than the item before, in the middle of its keys
            """\
            on_enter:
              - action: send_text
                text: hi
               - action: send_text
                text: hi
            """,
            4,
        ),
    ],
)
def test_a_list_item_at_the_wrong_indentation_is_explained(text: str, line: int) -> None:
    assert syntax_error(text) == (line, _ITEM_NOT_LINED_UP)


def test_a_key_at_the_wrong_indentation_is_explained() -> None:
    assert syntax_error("states:\n  A:\n      fallback: A\n    on_enter: []\n") == (
        4,
        "`on_enter:` is not lined up with the keys above it: line it up with `A:` (line 2, "
        "column 3) or with `fallback:` (line 3, column 7), whichever mapping it belongs to",
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (  # meant as a key of the state, beside on_enter
            """\
            states:
              A:
                on_enter:
                  - action: send_text
                    text: hola
                  transitions:
                  - target: A
            """,
            6,
            "`transitions:` is lined up with the `- ` of the list above it (`on_enter:`, line "
            "3): it is neither an item of that list nor a key beside `on_enter:`: line it up "
            "with `on_enter:` (line 3, column 5) to make it a key beside it, or with `text:` "
            "(line 5, column 9) to put it in the list's last item",
        ),
        (  # meant as a key of the action
            """\
            states:
              A:
                on_enter:
                  - action: send_text
                  text: hola
                transitions:
                  - target: A
            """,
            5,
            "`text:` is lined up with the `- ` of the list above it (`on_enter:`, line 3): it "
            "is neither an item of that list nor a key beside `on_enter:`: line it up with "
            "`on_enter:` (line 3, column 5) to make it a key beside it, or with `action:` "
            "(line 4, column 9) to put it in the list's last item",
        ),
    ],
)
def test_a_key_at_the_column_of_a_lists_items_is_explained(
    text: str, line: int, message: str
) -> None:
    """PyYAML says "expected <block end>, but found '?'" on the line of the key, with no `?`
    in the file: the line is kept, the words say what is wrong and the two ways to fix it."""
    with pytest.raises(YamlSyntaxError) as info:
        load_with_lines(dedent(text))
    problem = info.value.problem
    assert (problem.line, problem.path) == (line, "states.A.on_enter")
    assert problem.message == (
        f"invalid YAML: {message} (YAML parser: while parsing a block collection; expected "
        "<block end>, but found '?')"
    )


def test_a_syntax_error_names_the_path_being_read() -> None:
    with pytest.raises(YamlSyntaxError) as info:
        load_with_lines("states:\n  A:\n    on_enter:\n      - text: {{ data.x }}\n")
    assert (info.value.problem.line, info.value.problem.path) == (4, "states.A.on_enter[0].text")
    with pytest.raises(YamlSyntaxError) as info:
        load_with_lines("a:\n  b: [1, 2\nc: 3\n")
    assert info.value.problem.path == "a.b"


def test_an_unclosed_bracket_is_reported_where_it_opens() -> None:
    assert syntax_error("a: 1\nb: [1, 2\nc: 3\n") == (
        2,
        "the `[` opened on this line is not closed before line 3: close it with `]`, or put the "
        "text in quotes if it is not a YAML list or mapping",
    )
    assert syntax_error("a: 1\nb: {x: 1\n")[1].startswith(
        "the `{` opened on this line is not closed before the end of the file: close it with `}`"
    )


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


def test_half_a_character_is_refused_on_its_line() -> None:
    """A lone surrogate escape loads as text no channel can send: refused at load."""
    with pytest.raises(YamlSyntaxError) as caught:
        load_with_lines('id: x\ntext: "bad \\ud83d here"\n')
    assert caught.value.problem.line == 2
    assert "\\ud83d is half of a character" in caught.value.problem.message
    whole = load_with_lines('text: "ok \\ud83d\\ude00 \\U0001F600 é"\n').data
    assert whole == {"text": "ok 😀 😀 é"}  # a pair of escapes is one character
