"""What the sandbox never runs is found at load, placed like the other template problems:
another template loaded (`{% include %}`...: the renderer has no loader) is an error, a call
nothing a turn holds answers (`tenant.keys()`, `data.get('vip')`, `data.name.encode()`) a
warning. Calls the sandbox does run, and that flows use, pass."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows._template_checks import NAMESPACES
from botfleet.flows._unrunnable_checks import MAX_UNRUNNABLE, ROOTS
from botfleet.flows.effects import Diagnostic
from botfleet.flows.load import load_flow_text
from botfleet.flows.render import Renderer

HEAD = """\
id: t
initial_state: A
states:
  A:
    fallback: A
"""
LOADING = "templates cannot import, include or extend other templates"


def issues_of(text: str) -> list[FlowIssue]:
    try:
        return list(load_flow_text(text, "t.yaml").warnings)
    except FlowValidationError as exc:
        return list(exc.issues)


def errors(text: str) -> list[tuple[int | None, str, str]]:
    return [(i.line, i.path, i.message) for i in issues_of(text) if i.severity == "error"]


def warnings(text: str) -> list[tuple[int | None, str, str]]:
    """The call warnings (a flow's other warnings, such as unreachable states, left out)."""
    return [
        (i.line, i.path, i.message)
        for i in issues_of(text)
        if i.severity == "warning" and "fails at every turn" in i.message
    ]


def quoted(template: str) -> str:
    return '"' + template.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sent(template: str) -> str:
    """A flow whose state A sends `template` (line 8 of the file)."""
    return HEAD + f"    on_enter:\n      - action: send_text\n        text: {quoted(template)}\n"


def when(condition: str) -> str:
    """A flow whose transition's `condition` is `condition` (line 7 of the file)."""
    return HEAD + f"    transitions:\n      - condition: {quoted(condition)}\n        target: A\n"


# ---------------------------------------------------------------- other templates


@pytest.mark.parametrize(
    ("template", "keyword"),
    [
        ("{% import 'macros' as m %}{{ m.hi() }}", "import"),
        ("{% from 'macros' import hi %}{{ hi() }}", "from"),
        ("Hi {% include 'header' %}", "include"),
        ("{% extends 'base' %}{% block body %}Hi{% endblock %}", "extends"),
        ("{% include ['a', 'b'] ignore missing %}", "include"),
    ],
)
def test_loading_another_template_is_an_error(template: str, keyword: str) -> None:
    ((line, path, message),) = errors(sent(template))
    assert (line, path) == (8, "states.A.on_enter[0].text")
    assert message.startswith(f"{LOADING} (`{{% {keyword} ... %}}`)")


def test_a_loading_tag_is_placed_on_its_own_line_of_a_block() -> None:
    flow = HEAD + (
        "    on_enter:\n"
        "      - action: send_text\n"
        "        text: |-\n"  # line 8
        "          Hola {{ contact.name }},\n"
        "          {%- include 'footer' %}\n"  # line 10
    )
    ((line, _, message),) = errors(flow)
    assert line == 10
    assert message.startswith(LOADING)


def test_a_template_that_loads_fails_every_render_as_the_error_says() -> None:
    sink: list[Diagnostic] = []
    assert Renderer(_turn(), sink=sink).text("{% include 'x' %}", "w") == ""
    assert [d.event for d in sink] == ["template_failed"]


# ---------------------------------------------------------------- calls that never work


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "{{ tenant.keys() }}",
            "`tenant.keys()` fails at every turn: on a mapping, `.keys` reads its key 'keys', "
            "never a method; its keys are `| list`",
        ),
        (
            "{{ data.get('vip') }}",
            "`data.get(...)` fails at every turn: on a mapping, `.get` reads its key 'get', never "
            "a method; give a value that may be missing a default with `| default(...)`, or "
            "test it with `is defined`",
        ),
        (
            "{% for k, v in data.prices.items() %}{{ k }}{% endfor %}",
            "`data.prices.items()` fails at every turn: on a mapping, `.items` reads its key "
            "'items', never a method, and no other value `data.prices` can hold has a method "
            "`items`; go over its keys and values with `| items` (or `| dictsort`)",
        ),
        (
            "{{ data.name.encode() }}",
            "`data.name.encode()` fails at every turn: the sandbox refuses `.encode()` on text: "
            "only plain text methods such as upper, lower, replace, split and startswith can be "
            "called",
        ),
        (
            "{{ data.cart.append(data.item) }}",
            "`data.cart.append(...)` fails at every turn: the sandbox refuses `.append()`: lists "
            "and mappings cannot be changed in place",
        ),
        (
            "{{ now.hour() }}",
            "`now.hour()` fails at every turn: `now.hour` is a value, not a method: read it "
            "without `()`",
        ),
        (
            "{{ today.uper() }}",
            "`today.uper()` fails at every turn: `today` has no method `uper` (did you mean "
            "'upper'?)",
        ),
        (
            "{{ tenant() }}",
            "`tenant()` fails at every turn: `tenant` is a value, not something to call",
        ),
        (
            "{{ contact.name() }}",
            "`contact.name()` fails at every turn: on a mapping, `.name` reads its key 'name', "
            "never a method",
        ),
    ],
)
def test_a_call_that_never_works_is_warned_about(template: str, message: str) -> None:
    assert warnings(sent(template)) == [(8, "states.A.on_enter[0].text", message)]
    assert errors(sent(template)) == []  # the flow still loads: the rest of it works


@pytest.mark.parametrize(
    "condition", ["data.flags.get('vip')", "{{ tenant.keys() | length > 0 }}", "now.hour() > 9"]
)
def test_a_call_that_never_works_is_warned_about_in_a_condition(condition: str) -> None:
    ((line, path, message),) = warnings(when(condition))
    assert (line, path) == (7, "states.A.transitions[0].condition")
    assert "fails at every turn" in message


def test_a_call_is_placed_on_its_line_of_a_block_and_told_once() -> None:
    flow = HEAD + (
        "    on_enter:\n"
        "      - action: send_text\n"
        "        text: |-\n"  # line 8
        "          Hola {{ contact.name }},\n"
        "          {{ data.slots.keys()\n"  # line 10
        "             | join(', ') }} o {{ data.slots.keys() | first }}\n"
    )
    ((line, _, message),) = warnings(flow)
    assert line == 10
    assert message.startswith("`data.slots.keys()` fails at every turn")


# ---------------------------------------------------------------- calls that work


@pytest.mark.parametrize(
    "template",
    [
        "{{ data.name.upper() }} {{ data.name.title() }} {{ message.text.split()[0].lower() }}",
        "{{ tenant.name.strip() }} {{ contact.id.startswith('telegram:') }}",
        "{{ now.strftime('%d/%m') }} {{ now.weekday() }} {{ now.isoformat() }}",
        "{{ now.date().isoformat() }} {{ today.split('-')[0] }}",
        "{{ data.list.count(1) }} {{ data.list.index(2) }}",  # lists' own methods, unchanged
        "{{ '{} {}'.format(data.a, data.b) }} {{ data.name.format_map(data) }}",
        "{{ data['get']('vip') }}",  # a mapping's method read with `[]`, when no key is so named
        "{% for a in data.slots %}{{ a.title.split(' ')[0] }}{% endfor %}",  # a loop's value
        "{% set data = namespace(get=1) %}{{ data.get }}",  # not the namespace: its own
        "{% macro tenant() %}x{% endmacro %}{{ tenant() }}",
        "{{ (data.prices | dictsort)[0][0].upper() }} {{ range(3) | list }}",  # unknown, let be
    ],
)
def test_calls_the_sandbox_runs_pass(template: str) -> None:
    assert errors(sent(template)) == [] and warnings(sent(template)) == []


# ---------------------------------------------------------------- agreeing with the renderer


def test_every_namespace_is_known_to_the_call_checks() -> None:
    assert set(ROOTS) == set(NAMESPACES)


def _turn(**data: object) -> dict[str, object]:
    """The namespaces of a turn as `turn.TurnBuilder` builds them."""
    return {
        "data": {"today": "2024-05-06", **data},
        "message": {"text": "hola", "payload": "hola", "type": "text", "contact_id": "34600"},
        "contact": {"id": "34600", "channel": "whatsapp", "name": "Ana", "language": "es"},
        "tenant": {"id": "t1", "name": "Clínica", "timezone": "Europe/Madrid"},
        "today": "2024-05-06",
        "now": datetime(2024, 5, 6, 9, 30, tzinfo=ZoneInfo("Europe/Madrid")),
    }


#: What `data.x` may hold, of every JSON kind.
_SHAPES = ({"a": 1}, "texto", ["a", "b"], 3, 2.5, True, None)


@pytest.mark.parametrize(
    "expression",
    [
        "data.x.keys()", "data.x.items()", "data.x.get('a')", "data.x.encode()",
        "data.x.append(1)", "data.x.upper()", "data.x.count('a')", "data.x.bit_length()",
        "data.x.is_integer()", "data.x.copy()", "data.x.format_map({})", "data.get('x')",
        "tenant.name.title()", "tenant.name.keys()", "now.replace(hour=1)", "now.tzinfo.key()",
        "data.x['keys']()", "data['items']()", "data.x[0].upper()", "message.text.zfill(3)",
        "contact.get('id')", "today.isoformat()", "now.date().weekday()", "data.x.__len__()",
    ],
)  # fmt: skip
def test_a_call_is_refused_exactly_when_no_turn_can_run_it(expression: str) -> None:
    refused = bool(warnings(sent(f"{{{{ {expression} }}}}")))
    runs = []
    for shape in _SHAPES:
        sink: list[Diagnostic] = []
        Renderer(_turn(x=shape), sink=sink).text(f"{{{{ {expression} }}}}", "w")
        runs.append(all(d.event != "template_failed" for d in sink))
    if refused:
        assert not any(runs), f"refused, yet it runs when data.x is {_SHAPES[runs.index(True)]!r}"
    else:
        assert any(runs), "never runs, yet it passes"


def test_a_template_tells_its_first_problems_only() -> None:
    """Each is placed by searching the text: thousands in a hostile flow must cost a few."""
    template = " ".join(f"{{{{ today.x{i}() }}}}" for i in range(MAX_UNRUNNABLE + 5))
    told = warnings(sent(template))
    assert len(told) == MAX_UNRUNNABLE
    assert told[0][2].startswith("`today.x0()` fails at every turn")


def test_a_long_chain_keeps_one_sample_of_each_kind() -> None:
    """Two more samples a step made one call's check quadratic in its length (a hostile upload
    of `data.real.real...()` chains took seconds to validate)."""
    from jinja2 import Environment, nodes

    from botfleet.flows._unrunnable_checks import _values

    tree = Environment().parse("{{ data" + ".real" * 200 + "() }}")
    (call,) = tree.find_all(nodes.Call)
    held = _values(call.node, ROOTS)
    assert held is not None and 0 < len(held) <= len(ROOTS["data"]) + 6
