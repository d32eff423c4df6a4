"""A number or a yes/no where a text goes (`text: 2`, `say: 2`, `title: yes`) is an error that
says why YAML read it so and to quote it, as a date there does; nowhere else."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.load import load_flow_text
from botfleet.testing.conversation_format import ConversationTestError, load_conversation_test

NUMBER = ": YAML reads a number without quotes as a number; put the text in quotes"
BOOLEAN = (
    ": YAML reads yes, no, on, off, true and false without quotes as true or false; put the "
    "text in quotes"
)


def errors(on_enter: str, top: str = "") -> list[FlowIssue]:
    text = (
        "id: x\ninitial_state: A\nstates:\n  A:\n    on_enter:\n"
        + "".join(f"      {line}\n" for line in dedent(on_enter).splitlines())
        + "    fallback: A\n"
        + top
    )
    with pytest.raises(FlowValidationError) as raised:
        load_flow_text(text, "flows/x.yaml")
    return [i for i in raised.value.issues if i.severity == "error"]


@pytest.mark.parametrize(
    ("value", "got", "hint"),
    [
        ("2", "the number 2", NUMBER),
        ("2.5", "the number 2.5", NUMBER),
        ("-1", "the number -1", NUMBER),
        ("yes", "true", BOOLEAN),
        ("off", "false", BOOLEAN),
    ],
)
def test_a_text_read_as_a_number_or_yes_no_says_to_quote_it(
    value: str, got: str, hint: str
) -> None:
    (issue,) = errors(f"- {{action: send_text, text: {value}}}")
    assert str(issue) == (
        f"flows/x.yaml:6 states.A.on_enter[0].text: expected a string, got {got}{hint}"
    )


def test_an_option_id_or_title_written_as_a_number() -> None:
    found = errors("- {action: send_interactive_buttons, body: Hi, buttons: [{id: 1, title: 2}]}")
    assert [(i.path, i.message) for i in found] == [
        ("states.A.on_enter[0].buttons[0].id", f"expected a string, got the number 1{NUMBER}"),
        ("states.A.on_enter[0].buttons[0].title", f"expected a string, got the number 2{NUMBER}"),
    ]


def test_a_text_among_other_kinds_says_so_too() -> None:
    (issue,) = errors("- {action: invoke_connector, connector: mock, operation: x, on_error: 404}")
    assert issue.message == f"expected a string or a mapping, got the number 404{NUMBER}"


def test_no_quoting_hint_where_no_text_goes() -> None:
    found = errors("- {action: send_text, text: hi}", top="settings: 5\n")
    assert [i.message for i in found] == ["expected a mapping, got the number 5"]
    found = errors("- {action: send_text, text: hi}", top="settings: {strict_templates: 2}\n")
    assert [i.message for i in found] == ["expected true or false, got the number 2"]


def test_a_date_keeps_its_own_hint() -> None:
    (issue,) = errors("- {action: send_text, text: 2024-05-06}")
    assert issue.message == (
        "expected a string, got the date/time 2024-05-06 (quote it to make it text)"
    )


@pytest.mark.parametrize(("value", "hint"), [("2", NUMBER), ("no", BOOLEAN)])
def test_a_conversation_tests_say_gets_the_hint(tmp_path: Path, value: str, hint: str) -> None:
    (tmp_path / "flow.yaml").write_text(
        "id: x\ninitial_state: A\nstates:\n  A: {fallback: A}\n", encoding="utf-8"
    )
    test = tmp_path / "t.yaml"
    test.write_text(f"flow: flow.yaml\nsteps:\n  - say: {value}\n", encoding="utf-8")
    with pytest.raises(ConversationTestError) as raised:
        load_conversation_test(test)
    got = "the number 2" if value == "2" else "false"
    assert str(raised.value) == f"{test}:3 steps[0].say: expected a string, got {got}{hint}"


def test_a_yes_or_no_key_is_named_on_its_own_line() -> None:
    """`yes:` under `texts.pt` is YAML's true, which pydantic names 1: the error named the
    parent's line and `texts.pt.1`."""
    found = errors(
        "- {action: send_text, text: hi}",
        'texts:\n  pt:\n    hi: "Olá"\n    yes: Sim\n    no: Não\n',
    )
    assert [(i.line, i.path) for i in found] == [(11, "texts.pt.True"), (12, "texts.pt.False")]
    assert found[0].message.startswith("invalid key: expected a string, got true")
    assert found[0].message.endswith("put the key in quotes")


def test_a_duration_written_as_a_bare_number_asks_for_its_unit() -> None:
    """Quoting `4` only led to a second error (`invalid duration '4'`): the unit is missing."""
    found = errors(
        "- {action: schedule_task, task: t, delay: 3}",
        "settings:\n  session_timeout: 4\ntasks:\n  t:\n    - {action: send_text, text: x}\n",
    )
    assert sorted((i.path, i.message) for i in found) == [
        (
            "settings.session_timeout",
            "expected a duration, a number and its unit (e.g. 4m, 4h or 4d), got the number 4",
        ),
        (
            "states.A.on_enter[0].delay",
            "expected a duration, a number and its unit (e.g. 3m, 3h or 3d), got the number 3",
        ),
    ]
