"""Templates and conditions: missing values, strict mode, broken templates, typing, filters.

The sandbox and resource limits are in test_render_sandbox.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from botfleet.domain.errors import TemplateError
from botfleet.flows.effects import Diagnostic
from botfleet.flows.render import (
    Renderer,
    condition_syntax_error,
    is_template,
    template_syntax_error,
)
from botfleet.testing.engine import Conversation, flow_from_yaml

NOW = datetime(2024, 1, 8, 10, 0, tzinfo=UTC)
VARIABLES: dict[str, Any] = {
    "data": {
        "name": "Ana",
        "n": 30,
        "price": 18.5,
        "items": "the items key",
        "keys": ["k1", "k2"],
        "slots": [{"title": "10:00"}, {"title": "10:30"}],
        "_private": "underscore keys are just data",
    },
    "message": {"text": "hola", "payload": "", "type": "text"},
    "contact": {"id": "c1", "name": "Ana", "language": "es"},
    "tenant": {"id": "t1", "name": "Salon", "timezone": "UTC"},
    "today": "2024-01-08",
    "now": NOW,
}


def renderer(*, strict: bool = False) -> tuple[Renderer, list[Diagnostic]]:
    sink: list[Diagnostic] = []
    return Renderer(VARIABLES, strict=strict, sink=sink), sink


def render(source: str) -> tuple[str, list[Diagnostic]]:
    r, sink = renderer()
    return r.text(source, "states.S.on_enter[0].text"), sink


# ---------------------------------------------------------------- plain rendering


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("no template", "no template"),
        ("braces {not} and }} alone", "braces {not} and }} alone"),
        ("Hi {{data.name}}", "Hi Ana"),
        ("{{ data.price | default('?') }}", "18.5"),
        ("{{ data.absent | default('?') }}", "?"),
        ("{{ data.items }}", "the items key"),  # the key, not dict.items
        ("{{ data.keys | join(',') }}", "k1,k2"),
        ("{{ data._private }}", "underscore keys are just data"),
        ("{% for s in data.slots %}{{ s.title }} {% endfor %}", "10:00 10:30 "),
        ("{{ '<b>' }}", "<b>"),  # chat text, not HTML: no escaping
        ("{{ now.strftime('%H:%M') }}", "10:00"),
        ("{{ range(3) | list | length }}", "3"),
        ("{{ 2 ** 10 }} {{ 'ab' * 3 }}", "1024 ababab"),
        ("{{ data.n * 2 }}", "60"),
    ],
)
def test_templates_render_against_the_namespaces(source: str, expected: str) -> None:
    text, diagnostics = render(source)
    assert text == expected
    assert diagnostics == []


def test_a_missing_value_renders_empty_and_names_the_place() -> None:
    text, diagnostics = render("Hi {{ data.nobody }}, {{ contact.nickname }}!")
    assert text == "Hi , !"
    assert [(d.event, d.where, d.detail) for d in diagnostics] == [
        ("template_missing_value", "states.S.on_enter[0].text", "missing value 'nobody'"),
        ("template_missing_value", "states.S.on_enter[0].text", "missing value 'nickname'"),
    ]
    assert {d.level for d in diagnostics} == {"warning"}


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("[{{ data.name.title }}]", "title"),  # meant a key, got str.title
        ("[{{ range }}]", "_bounded_range"),
        ("[{{ dict }}]", "dict"),
    ],
)
def test_a_printed_method_or_function_renders_empty_and_warns(source: str, name: str) -> None:
    text, diagnostics = render(source)
    assert text == "[]"  # never "<built-in method title of str object at 0x...>"
    assert [(d.event, d.detail) for d in diagnostics] == [
        ("template_missing_value", f"missing value '{name} (a method or function, not a value)'")
    ]
    r, _ = renderer(strict=True)
    with pytest.raises(TemplateError):
        r.text(source, "w")
    assert render("{{ data.name.title() }}") == ("Ana", [])  # calling it is fine


@pytest.mark.parametrize(
    "source",
    [
        "Notes: {{ data.notes }}.",
        "Notes: {{ data.notes | default('x') }}.",
        "Notes: {% for n in [data.notes] %}{{ n }}{% endfor %}.",
    ],
)
def test_a_null_value_prints_as_nothing_not_python_s_none(source: str) -> None:
    # A connector's JSON null is a value that is there: empty, and no warning.
    sink: list[Diagnostic] = []
    r = Renderer({"data": {"notes": None}}, sink=sink)
    assert r.text(source, "states.S.on_enter[0].text") == "Notes: ."
    assert sink == []


def test_a_missing_nested_value_is_one_missing_value() -> None:
    text, diagnostics = render("[{{ data.a.b.c }}]")
    assert text == "[]"
    assert [d.detail for d in diagnostics] == ["missing value 'a'"]


def test_a_missing_lone_expression_in_a_value_is_reported_too() -> None:
    r, sink = renderer()
    assert r.value({"x": "{{ data.nobody }}"}, "states.S.transitions[0].set_data") == {"x": ""}
    assert [(d.event, d.where) for d in sink] == [
        ("template_missing_value", "states.S.transitions[0].set_data.x")
    ]


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.text("Hi {{ data[data.phone] }}", "w"),
        lambda r: r.value("{{ data[data.phone] }}", "w"),
        lambda r: r.value({"x": ["{{ data[data.phone] }}"]}, "w"),
        lambda r: r.condition("data[data.phone] > 1", "w"),
    ],
)
def test_a_value_looked_up_by_content_is_not_named_by_what_it_looked_up(call: Any) -> None:
    # The name would be the contact's phone number: it goes to the log and a run's answer.
    sink: list[Diagnostic] = []
    r = Renderer({"data": {"phone": "+34600111222"}}, sink=sink)
    call(r)
    assert [d.detail for d in sink] == ["missing value '<a looked-up key>'"]
    with pytest.raises(TemplateError) as info:
        call(Renderer({"data": {"phone": "+34600111222"}}, strict=True, sink=[]))
    assert "+34600111222" not in str(info.value)


def test_a_looked_up_key_the_author_wrote_is_named() -> None:
    text, diagnostics = render("{{ data['time'] }} {{ data['fo' ~ 'o'] }}")
    assert text == " "
    # 'foo' is made, not written: it could as well be made of a contact's data.
    assert [d.detail for d in diagnostics] == [
        "missing value 'time'",
        "missing value '<a looked-up key>'",
    ]


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.text("{{ data.nobody }}", "w"),
        lambda r: r.value("{{ data.nobody }}", "w"),
        lambda r: r.text("{{ data.name ", "w"),
        lambda r: r.condition("data.n >", "w"),
    ],
)
def test_strict_mode_turns_missing_values_and_broken_templates_into_errors(call: Any) -> None:
    r, _ = renderer(strict=True)
    with pytest.raises(TemplateError) as info:
        call(r)
    assert info.value.where == "w"


@pytest.mark.parametrize(
    ("condition", "expected", "name"),
    [
        ("dta.vip", False, "dta"),  # a misspelled namespace
        ("data.vip", False, "vip"),
        ("not data.available_days", True, "available_days"),
        ("data.tier == 'gold'", False, "tier"),
        ("data.tier != 'gold'", True, "tier"),
        ("'gold' in data.tags", False, "tags"),
        ("data.tier in ['gold', 'silver']", False, "tier"),
        ("data.tags | length", False, "tags"),
        ("data['vip']", False, "vip"),
        ("{{ data.vip }}", False, "vip"),
        ("data.n > 3 and data.vip", False, "vip"),
        ("data.count < 5", False, "count"),  # ordered comparisons: missing, not broken
        ("5 > data.count", False, "count"),
        ("data.count >= 0", False, "count"),
        ("not (data.count <= 5)", True, "count"),
    ],
)
def test_a_missing_value_a_condition_reads_is_reported(
    condition: str, expected: bool, name: str
) -> None:
    r, sink = renderer()
    assert r.condition(condition, "states.S.transitions[0].condition") is expected
    assert [(d.level, d.event, d.where, d.detail) for d in sink] == [
        (
            "warning",
            "template_missing_value",
            "states.S.transitions[0].condition",
            f"missing value {name!r}",
        )
    ]
    strict, _ = renderer(strict=True)
    with pytest.raises(TemplateError, match=f"missing value {name!r}") as info:
        strict.condition(condition, "w")
    assert info.value.where == "w"


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("data.vip is defined", False),
        ("data.vip is not defined", True),
        ("data.vip is undefined", True),
        ("data.vip is defined and data.vip", False),
        ("data.vip | default(false)", False),
        ("data.tags | default([]) | length == 0", True),
        ("data.tier | default('none', true) == 'none'", True),
        ("data.vip is none", False),
        ("data.n > 3 or data.vip", True),  # never read
    ],
)
def test_asking_whether_a_value_is_there_is_not_reading_it(condition: str, expected: bool) -> None:
    r, sink = renderer(strict=True)
    assert r.condition(condition, "w") is expected
    assert sink == []


def test_a_template_s_if_on_a_missing_value_stays_a_quiet_test() -> None:
    assert render("{% if data.vip %}VIP{% else %}-{% endif %}") == ("-", [])
    r, _ = renderer(strict=True)
    assert r.text("{% if data.vip %}VIP{% endif %}{{ 'x' if data.vip != 1 }}", "w") == "x"


# ---------------------------------------------------------------- broken templates


@pytest.mark.parametrize(
    "source",
    [
        "Hello {{ data.name ",
        "{% if data.n %}never closed",
        "{{ data.name | no_such_filter }}",
        "{{ 1 / 0 }}",
        "{{ data.n + 'text' }}",
        "{{ data.items() }}",
        "{% for %}{% endfor %}",
        "{{ }}",
    ],
)
def test_a_broken_template_renders_empty_never_raw_braces(source: str) -> None:
    text, diagnostics = render(source)
    assert text == ""
    assert "{{" not in text
    assert [d.event for d in diagnostics] == ["template_failed"]
    assert diagnostics[0].where == "states.S.on_enter[0].text"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("{{ data.name | truncate(2) }}", "AssertionError"),
        ("{{ data.keys | dictsort }}", "AttributeError"),
        ("{{ 5 | wordwrap(5) }}", "AttributeError"),
        ("{{ data.name | xmlattr }}", "AttributeError"),
        ("{{ data.keys | xmlattr }}", "AttributeError"),
    ],
)
def test_a_filter_given_what_it_cannot_handle_fails_like_a_broken_template(
    source: str, error: str
) -> None:
    text, diagnostics = render(f"[{source}]")
    assert text == ""
    assert [(d.event, d.where) for d in diagnostics] == [
        ("template_failed", "states.S.on_enter[0].text")
    ]
    assert diagnostics[0].detail.startswith(f"{error}: ")
    r, sink = renderer()
    assert r.value(source, "w") == ""
    assert r.condition(source.strip("{} "), "w") is False
    assert [d.event for d in sink] == ["template_failed", "template_failed"]
    strict, _ = renderer(strict=True)
    with pytest.raises(TemplateError, match=error) as info:
        strict.text(source, "w")
    assert info.value.where == "w"


def test_a_lazy_result_fails_inside_its_render_too() -> None:
    # `map` gives a generator: its filter runs only when the value is stored.
    r, sink = renderer()
    assert r.value("{{ data.keys | map('truncate', 1) }}", "w") == ""
    assert r.value("{{ {'a': data.keys | map('truncate', 1)} }}", "w") == ""
    assert [d.event for d in sink] == ["template_failed", "template_failed"]
    strict, _ = renderer(strict=True)
    with pytest.raises(TemplateError, match="AssertionError"):
        strict.value("{{ data.keys | map('truncate', 1) }}", "w")


def test_a_broken_condition_is_false_with_a_diagnostic() -> None:
    r, sink = renderer()
    assert r.condition("data.n >", "states.S.transitions[0].condition") is False
    assert [d.event for d in sink] == ["template_failed"]


# ---------------------------------------------------------------- typed values


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ data.n }}", 30),
        ("{{ data.price }}", 18.5),
        ("{{ data.keys }}", ["k1", "k2"]),
        ("{{ data.n > 3 }}", True),
        ("{{ none }}", None),
        ("{{ now }}", "2024-01-08T10:00:00+00:00"),
        ("{{ {'at': now, 'n': data.n} }}", {"at": "2024-01-08T10:00:00+00:00", "n": 30}),
        ("{{ data.keys | map('upper') }}", ["K1", "K2"]),
        ("{{ range(3) }}", [0, 1, 2]),
        ("{{ (1, 2) }}", [1, 2]),
        ("{{ data.n }} min", "30 min"),
    ],
)
def test_a_lone_expression_keeps_its_type_as_json_data(source: str, expected: Any) -> None:
    r, sink = renderer()
    assert r.value(source, "w") == expected
    assert sink == []


@pytest.mark.parametrize("source", ["{{ cycler(1, 2) }}", "{{ 1e308 * 10 }}", "{{ namespace() }}"])
def test_a_lone_expression_that_is_not_data_becomes_empty_with_a_diagnostic(source: str) -> None:
    r, sink = renderer()
    assert r.value(source, "w") == ""
    assert [d.event for d in sink] == ["template_failed"]


def test_values_recurse_into_mappings_and_lists_and_pass_other_types() -> None:
    r, _ = renderer()
    value = {"a": ["{{ data.n }}", 2, {"b": "x{{ data.n }}"}], "c": None, "d": 1.5}
    assert r.value(value, "w") == {"a": [30, 2, {"b": "x30"}], "c": None, "d": 1.5}


# ---------------------------------------------------------------- shift_time


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ '2024-01-09T10:30' | shift_time(days=-1) }}", "2024-01-08T10:30:00"),
        ("{{ '2024-01-09T10:30' | shift_time(hours=2, minutes=15) }}", "2024-01-09T12:45:00"),
        ("{{ '2024-03-01' | shift_time(days=-1) }}", "2024-02-29T00:00:00"),
        ("{{ now | shift_time(minutes=-30) }}", "2024-01-08T09:30:00+00:00"),
        ("{{ '2024-01-09T10:30+01:00' | shift_time(days=1) }}", "2024-01-10T10:30:00+01:00"),
    ],
)
def test_shift_time_moves_an_iso_time(source: str, expected: str) -> None:
    assert render(source) == (expected, [])


@pytest.mark.parametrize(
    "source",
    ["{{ 'not a date' | shift_time(days=1) }}", "{{ '2024-01-09' | shift_time(days=10**9) }}"],
)
def test_shift_time_on_bad_input_fails_softly(source: str) -> None:
    text, diagnostics = render(source)
    assert text == ""
    assert [d.event for d in diagnostics] == ["template_failed"]


# ---------------------------------------------------------------- static helpers


def test_static_helpers_report_syntax_and_names() -> None:
    assert is_template("a {{ b }}") and is_template("{% if x %}{% endif %}")
    assert not is_template("plain { text }")
    assert template_syntax_error("{{ ok }}") is None
    assert template_syntax_error("{{ broken ") is not None
    assert condition_syntax_error("data.n > 1") is None
    assert condition_syntax_error("data.n >") is not None


# ---------------------------------------------------------------- through the engine

FLOW = """
id: render_in_engine
initial_state: S
states:
  S:
    on_enter:
      - {action: send_text, text: "fine"}
      - {action: send_text, text: "Hi {{ data.nobody }}!"}
      - action: send_interactive_buttons
        body: "{{ broken"
        buttons: [{id: a, title: "A {{ data.nobody }}"}]
    fallback: S
"""


def test_engine_diagnostics_name_the_state_and_the_action_path() -> None:
    exchange = Conversation(flow_from_yaml(FLOW, validate=False)).send("hola")
    assert [(d.event, d.where) for d in exchange.diagnostics] == [
        ("template_missing_value", "states.S.on_enter[1].text"),
        ("template_failed", "states.S.on_enter[2].body"),
        ("template_missing_value", "states.S.on_enter[2].buttons[0].title"),
    ]
    assert exchange.texts == ["fine", "Hi !", ""]
    assert not any("{{" in t for t in exchange.texts)


def test_strict_mode_makes_the_engine_raise_a_template_error_naming_the_place() -> None:
    with pytest.raises(TemplateError, match=r"states\.S\.on_enter\[1\]\.text: missing value"):
        Conversation(flow_from_yaml(FLOW, validate=False), strict=True).send("hola")


def test_the_flows_strict_templates_setting_makes_the_engine_raise_too() -> None:
    strict_flow = FLOW.replace(
        "initial_state: S\n", "initial_state: S\nsettings: {strict_templates: true}\n"
    )
    assert strict_flow != FLOW
    with pytest.raises(TemplateError, match=r"states\.S\.on_enter\[1\]\.text: missing value"):
        Conversation(flow_from_yaml(strict_flow, validate=False)).send("hola")
