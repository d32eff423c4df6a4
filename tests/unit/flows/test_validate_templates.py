"""Templates and conditions as the validator reads them: a syntax error inside a text written
over several lines is placed on its own line, with a hint for the common slips, and a name no
turn provides (a misspelled namespace) is an error with the name meant."""

from __future__ import annotations

from textwrap import dedent

import pytest

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.load import load_flow_text

HEAD = """\
id: t
initial_state: A
states:
  A:
    fallback: A
"""


def issues_of(text: str) -> list[FlowIssue]:
    try:
        return list(load_flow_text(dedent(text), "t.yaml").warnings)
    except FlowValidationError as exc:
        return list(exc.issues)


def errors(text: str) -> list[tuple[int | None, str, str]]:
    return [(i.line, i.path, i.message) for i in issues_of(text) if i.severity == "error"]


# ---------------------------------------------------------------- where in a block of text


@pytest.mark.parametrize("style", [">-", ">", "|", "|-"])
def test_a_syntax_error_in_a_block_is_placed_on_its_line(style: str) -> None:
    flow = HEAD + (
        "    on_enter:\n"
        "      - action: send_text\n"
        f"        text: {style}\n"  # line 8
        "          Hola {{ data.name }},\n"
        "          ¿confirmamos {{ data.service } para el {{ data.day }}?\n"  # line 10
        "          Gracias.\n"
    )
    assert errors(flow) == [
        (
            10,
            "states.A.on_enter[0].text",
            "template syntax error: unexpected '}': a `{{ ... }}` closed with one brace: close "
            "it with two, `}}`",
        )
    ]


def test_an_unclosed_block_is_placed_on_the_line_that_opens_it() -> None:
    flow = HEAD + (
        "    on_enter:\n"
        "      - action: send_text\n"
        "        text: >-\n"
        "          Hola.\n"
        "          {% if data.price > 0 %}Precio: {{ data.price }} €.\n"  # line 10
        "          Gracias.\n"
    )
    ((line, _, message),) = errors(flow)
    assert line == 10
    assert message.endswith(
        "The innermost block that needs to be closed is 'if': add `{% endif %}` where the "
        "block ends"
    )


def test_a_condition_that_stops_too_soon_is_placed_on_its_last_line() -> None:
    flow = HEAD + (
        "    transitions:\n"
        "      - condition: >-\n"
        "          data.a and\n"
        "          data.b ==\n"  # line 9
        "        target: A\n"
    )
    assert errors(flow) == [
        (
            9,
            "states.A.transitions[0].condition",
            "condition syntax error: unexpected 'end of template': the condition stops in the "
            "middle: something is missing after its last operator (e.g. `data.x ==` needs the "
            "value to compare with)",
        )
    ]


def test_a_template_on_one_line_keeps_its_keys_line() -> None:
    flow = HEAD + (
        '    on_enter:\n      - action: send_text\n        text: "Hola {{ data.name }"\n'  # line 8
    )
    assert [line for line, _, _ in errors(flow)] == [8]


def test_a_block_is_placed_on_its_line_also_when_the_schema_fails_elsewhere() -> None:
    flow = HEAD + (
        "    on_enter:\n"
        "      - action: send_text\n"
        "        text: |\n"
        "          Hola\n"
        "          {{ data.name }\n"  # line 10
        "  B:\n"
        "    fallbak: A\n"  # line 12: left out of the other checks
    )
    assert [(line, path) for line, path, _ in errors(flow)] == [
        (10, "states.A.on_enter[0].text"),
        (12, "states.B.fallbak"),
    ]


@pytest.mark.parametrize(
    ("template", "hint"),
    [
        ("{{ data.x", "a `{{` is not closed: close it with `}}`"),
        ("{{ data.x data.y }}", "something follows the value inside `{{ }}`"),
        ("{% if data.x %}a{% else if data.y %}b{% endif %}", "write `{% elif ... %}`"),
        ("{% if data.x = 1 %}a{% endif %}", "compare with `==`"),
    ],
)
def test_common_template_slips_get_a_hint(template: str, hint: str) -> None:
    flow = HEAD + f"    on_enter:\n      - action: send_text\n        text: '{template}'\n"
    ((_, _, message),) = errors(flow)
    assert message.startswith("template syntax error: ")
    assert hint in message


# ---------------------------------------------------------------- names


def test_a_misspelled_namespace_in_a_condition_is_an_error() -> None:
    flow = HEAD + '    transitions:\n      - condition: "dta.vip"\n        target: A\n'
    assert errors(flow) == [
        (
            7,
            "states.A.transitions[0].condition",
            "unknown name 'dta' (did you mean 'data'?): templates and conditions read data, "
            "message, contact, tenant, today and now",
        )
    ]


def test_a_bare_data_key_is_an_error_that_names_its_namespace() -> None:
    flow = HEAD + (
        "    on_enter:\n"
        "      - action: send_text\n"
        "        text: |\n"
        "          Booked:\n"
        "          {{ selected_date }} at {{ data.time }}\n"  # line 10
    )
    assert errors(flow) == [
        (
            10,
            "states.A.on_enter[0].text",
            "unknown name 'selected_date': templates and conditions read data, message, "
            "contact, tenant, today and now; a value the flow stores is `data.selected_date`",
        )
    ]


@pytest.mark.parametrize(
    "where",
    [
        "transitions[0].set_data.x",
        "on_enter[1].params.day",
        "next[0].condition",
        "on_enter[2].run_at",
    ],
)
def test_unknown_names_are_found_wherever_templates_go(where: str) -> None:
    flow = HEAD + (
        "    transitions:\n"
        "      - {target: A, set_data: {x: '{{ mesage.text }}'}}\n"
        "    next:\n"
        "      - {condition: 'mesage.text', target: A}\n"
        "    on_enter:\n"
        "      - {action: send_text, text: hi}\n"
        "      - action: invoke_connector\n"
        "        connector: calendar\n"
        "        operation: get_slots_for_day\n"
        "        params: {day: '{{ mesage.text }}'}\n"
        "      - {action: schedule_task, task: t, run_at: '{{ mesage.text }}'}\n"
        "tasks:\n"
        "  t: [{action: send_text, text: hi}]\n"
    )
    found = {path: message for _, path, message in errors(flow)}
    assert found[f"states.A.{where}"].startswith("unknown name 'mesage' (did you mean 'message'?)")


def test_every_name_a_turn_provides_and_every_name_a_template_sets_is_known() -> None:
    flow = HEAD + (
        "    on_enter:\n"
        "      - action: send_text\n"
        "        text: >-\n"
        "          {{ data.x }} {{ message.text }} {{ contact.name }} {{ tenant.name }}\n"
        "          {{ today }} {{ now.hour }} {{ range(3) | list }} {{ dict(a=1) }}\n"
        "          {% set n = namespace(count=0) %}{{ n.count }}\n"
        "          {% for a in data.items %}{{ a.title }} {{ loop.index }}{% endfor %}\n"
        "          {% macro row(item) %}{{ item }}{% endmacro %}{{ row(1) }}\n"
        "    transitions:\n"
        "      - condition: \"data.vip is defined and now.weekday() < 5 and today != ''\"\n"
        "        target: A\n"
    )
    assert errors(flow) == []
