"""The `failed`/`error` reads the validator follows through a macro's parameters (its body walked
where it is called, as it runs), a `namespace()`'s attributes, and a literal list's items (a
value field's lone `{{ [...] }}` turned into data item by item): a warning exactly where the
renderer counts a missing value, never on a template that works.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.domain.errors import FlowIssue
from botfleet.flows._failed_reads import failed_reads_in
from botfleet.flows.effects import Diagnostic
from botfleet.flows.load import load_flow_text
from botfleet.flows.render import Renderer, parse_checked

MARK = "is missing after a successful answer"
KEYS = {"slots": "states.SLOTS.on_enter[0]"}
#: `slots` is an answer (no `failed`, no `error`); `failure` what a failed call stores.
AFTER_AN_ANSWER = {
    "data": {
        "slots": [{"start": "10:00"}],
        "other": True,
        "failure": {"failed": True, "error": "timeout"},
    }
}
HEAD = """\
id: t
initial_state: SLOTS
states:
  SLOTS:
    on_enter:
      - action: invoke_connector
        connector: calendar
        operation: list_appointments
        result_key: slots
        on_error: {continue: true}
"""
TAIL = "    fallback: SLOTS\ntasks:\n  t:\n    - {action: send_text, text: Hi}\n"


def counted(source: str, *, as_data: bool) -> bool:
    """Whether the renderer counts a missing `failed` or `error` in `source`, rendered as a text
    or, `as_data`, as a value field's (`set_data`, `params`)."""
    sink: list[Diagnostic] = []
    renderer = Renderer(AFTER_AN_ANSWER, sink=sink)
    if as_data:
        renderer.value(source, "w")
    else:
        renderer.text(source, "w")
    return any(
        d.detail in {"missing value 'failed'", "missing value 'error'"}
        or (d.detail.startswith("UndefinedError") and d.detail.endswith(("'failed'", "'error'")))
        for d in sink
    )


def found(source: str, *, as_data: bool) -> bool:
    tree = parse_checked(source).tree
    assert tree is not None
    return bool(failed_reads_in(tree, KEYS, expression=False, as_data=as_data))


def warned(action: str) -> list[tuple[str, str]]:
    issues: tuple[FlowIssue, ...] = load_flow_text(HEAD + action + TAIL, "t.yaml").warnings
    return [(i.path, i.message) for i in issues if MARK in i.message]


# ---------------------------------------------------------------- agreement with the renderer

MACROS = [
    ("{% macro m(r) %}{{ r.failed }}{% endmacro %}{{ m(data.slots) }}", True),
    ("{% macro m(r) %}{{ r.error }}{% endmacro %}{{ m(r=data.slots) }}", True),
    ("{% macro m(r) %}{{ r.error }}{% endmacro %}{% set x = m(data.slots) %}", True),
    ("{% macro m(r=data.slots) %}{{ r.error }}{% endmacro %}{{ m() }}", True),
    ("{% macro m(a, b=a) %}{{ b.error }}{% endmacro %}{{ m(data.slots) }}", True),
    ("{% macro m(r) %}{{ '%s' % r.error }}{% endmacro %}{{ m(data.slots) }}", True),
    ("{% macro m(e) %}{{ e }}{% endmacro %}{{ m(data.slots.error) }}", True),
    # One macro calls another, defined after it: both are looked up when the call runs.
    (
        "{% macro a(r) %}{{ b(r) }}{% endmacro %}{% macro b(r) %}{{ r.error }}{% endmacro %}"
        "{{ a(data.slots) }}",
        True,
    ),
    (
        "{% macro m(r, n) %}{% if n > 0 %}{{ m(r, n - 1) }}{% endif %}{{ r.error }}{% endmacro %}"
        "{{ m(data.slots, 2) }}",
        True,
    ),
    (
        "{% for s in data.slots %}{% macro m(r) %}{{ r.error }}{% endmacro %}{{ m(data.slots) }}"
        "{% endfor %}",
        True,
    ),
    # Its other names are the defining block's when it is called, not when it is defined.
    (
        "{% set r = data.failure %}{% macro m() %}{{ r.error }}{% endmacro %}"
        "{% set r = data.slots %}{{ m() }}",
        True,
    ),
    (
        "{% macro m(r) %}{{ caller() }}{% endmacro %}"
        "{% call m(data.failure) %}{{ data.slots.error }}{% endcall %}",
        True,
    ),
    # Silent: the argument is a failure, a guard (in the body or around the call), never
    # called, another value bound since, a name the body cannot see.
    ("{% macro m(r) %}{{ r.error }}{% endmacro %}{{ m(data.failure) }}", False),
    ("{% macro m(r) %}{{ r.error }}{% endmacro %}", False),
    ("{% macro m() %}{{ data.slots.error }}{% endmacro %}", False),
    ("{% macro m(r=data.slots) %}{{ r.error }}{% endmacro %}{{ m(data.failure) }}", False),
    (
        "{% macro m(r) %}{% if r.failed is defined %}{{ r.error }}{% endif %}{% endmacro %}"
        "{{ m(data.slots) }}",
        False,
    ),
    (
        "{% macro m(r) %}{{ r.error }}{% endmacro %}"
        "{% if data.slots.failed is defined %}{{ m(data.slots) }}{% endif %}",
        False,
    ),
    (
        "{% macro m() %}{{ data.slots.error }}{% endmacro %}"
        "{% if data.slots.failed is defined %}{{ m() }}{% endif %}",
        False,
    ),
    ("{% macro m(r) %}{{ r.error | default('') }}{% endmacro %}{{ m(data.slots) }}", False),
    (
        "{% set r = data.slots %}{% macro m() %}{{ r.error }}{% endmacro %}"
        "{% set r = data.failure %}{{ m() }}",
        False,
    ),
    (
        "{% set r = data.failure %}{% macro m() %}{{ r.error }}{% endmacro %}"
        "{% with r = data.slots %}{{ m() }}{% endwith %}",
        False,
    ),
    (
        "{% macro m2() %}{{ r.error }}{% endmacro %}{% macro m1(r) %}{{ m2() }}{% endmacro %}"
        "{{ m1(data.slots) }}",
        False,
    ),
    # A macro that takes no `caller` refuses `{% call %}`: its body never runs.
    ("{% macro m(r) %}{{ r.error }}{% endmacro %}{% call m(data.slots) %}x{% endcall %}", False),
    ("{% macro m(r) %}{{ r.error }}{% endmacro %}{% set m = 1 %}{{ m }}", False),
]
NAMESPACES = [
    ("{% set ns = namespace(r=none) %}{% set ns.r = data.slots %}{{ ns.r.failed }}", True),
    ("{% set ns = namespace(r=data.slots) %}{{ ns.r.error }}", True),
    ("{% set ns = namespace({'r': data.slots}) %}{{ ns.r.error }}", True),
    ("{{ namespace(r=data.slots).r.error }}", True),
    (
        "{% set ns = namespace(r=data.failure) %}{% set n2 = ns %}{% set n2.r = data.slots %}"
        "{{ ns.r.error }}",
        True,
    ),
    # The object is shared: a `set` inside a block changes it outside too.
    (
        "{% set ns = namespace(r=data.failure) %}{% for s in data.slots %}"
        "{% set ns.r = data.slots %}{% endfor %}{{ ns.r.error }}",
        True,
    ),
    (
        "{% set ns = namespace(r=data.failure) %}{% with %}{% set ns.r = data.slots %}"
        "{% endwith %}{{ ns.r.error }}",
        True,
    ),
    (
        "{% set ns = namespace(r=data.failure) %}{% macro m() %}{% set ns.r = data.slots %}"
        "{% endmacro %}{{ m() }}{{ ns.r.error }}",
        True,
    ),
    # Silent: set to something else since (maybe by a name not known to be the namespace, or
    # by a macro that may run anywhere), guarded, or a new namespace.
    ("{% set ns = namespace(r=data.slots) %}{% set ns.r = data.failure %}{{ ns.r.error }}", False),
    ("{% set ns = namespace(r=data.slots) %}{{ ns.r.error | default('') }}", False),
    (
        "{% set ns = namespace(r=data.slots) %}"
        "{% if data.slots.failed is defined %}{{ ns.r.error }}{% endif %}",
        False,
    ),
    (
        "{% set ns = namespace(r=data.slots) %}{% for s in data.slots %}"
        "{% set ns.r = data.failure %}{% endfor %}{{ ns.r.error }}",
        False,
    ),
    (
        "{% set ns = namespace(r=data.slots) %}{% set n2 = ns %}{% set n2.r = data.failure %}"
        "{{ ns.r.error }}",
        False,
    ),
    (
        "{% set ns = namespace(r=data.slots) %}{% set n2 = [ns] | first %}"
        "{% set n2.r = data.failure %}{{ ns.r.error }}",
        False,
    ),
    (
        "{% set ns = namespace(r=data.slots) %}{% macro m() %}{% set ns.r = data.failure %}"
        "{% endmacro %}{{ m() }}{{ ns.r.error }}",
        False,
    ),
    (
        "{% set ns = namespace(r=data.slots) %}{% macro m() %}{% set ns.r = data.failure %}"
        "{% endmacro %}{% set f = m %}{{ f() }}{{ ns.r.error }}",
        False,
    ),
    (
        "{% set ns = namespace(r=data.slots) %}{% macro m() %}{{ caller() }}{{ ns.r.error }}"
        "{% endmacro %}{% call m() %}{% set ns.r = data.failure %}{% endcall %}",
        False,
    ),
    ("{% set ns = namespace(r=data.slots) %}{% set ns = namespace() %}{{ ns.r.error }}", False),
    ("{% set ns = namespace({'r': data.slots}, r=data.failure) %}{{ ns.r.error }}", False),
]
LISTS = [
    ("{{ [data.slots.error] | join(',') }}", True),
    ("{% set l = [data.slots.error] %}{{ l | join }}", True),
    ("{{ [data.slots][0].error }}", True),
    ("{% set l = [data.slots.error] %}{{ l[0] }}", True),
    ("{{ [data.slots.error] | first }}", True),
    ("{% set a, b = [data.slots, 1] %}{{ a.error }}", True),
    ("{% set l = (data.slots, 1) %}{% set a, b = l %}{{ a.error }}", True),
    # Printed whole, a list shows its items' `repr`: quiet.
    ("{{ [data.slots.failed] }}", False),
    ("{{ {'a': data.slots.error} }}", False),
    ("{% set l = [data.slots.error] %}{{ l }}", False),
    ("{{ 'x' ~ [data.slots.error] }}", False),
    ("{{ '%s' % [data.slots.error] }}", False),
    ("{{ [data.failure, data.slots][0].error }}", False),
    ("{{ [data.slots][1].error }}", False),
    ("{{ [data.slots.error, 'x'] | last }}", False),
    ("{{ [data.slots.error] | length }}", False),
    ("{% if data.slots.failed is defined %}{{ [data.slots.error] | join }}{% endif %}", False),
]


@pytest.mark.parametrize(("source", "is_counted"), [*MACROS, *NAMESPACES, *LISTS])
def test_a_text_warns_exactly_when_the_renderer_counts_it(source: str, is_counted: bool) -> None:
    assert counted(source, as_data=False) is is_counted
    assert found(source, as_data=False) is is_counted


AS_DATA = [
    ("{{ [data.slots.failed] }}", True),
    ("{{ {'down': data.slots.failed} }}", True),
    ("{{ {'a': [data.slots.error, 1]} }}", True),
    (" {{ (data.slots.error, 1) }} ", True),
    ("{{ [data.slots.error | default('')] }}", False),
    ("{{ [data.slots.error] if data.slots.failed is defined else [] }}", False),
    ("{{ [data.failure.error, data.slots] }}", False),
]


@pytest.mark.parametrize(("source", "is_counted"), AS_DATA)
def test_a_value_kept_as_data_warns_exactly_when_the_renderer_counts_it(
    source: str, is_counted: bool
) -> None:
    assert counted(source, as_data=True) is is_counted
    assert found(source, as_data=True) is is_counted
    # The same written in a text shows the list's `repr`: quiet.
    assert not counted(source, as_data=False)
    assert not found(source, as_data=False)


# ---------------------------------------------------------------- in a flow


def test_a_read_through_a_macro_warns_at_its_place() -> None:
    template = "{% macro m(r) %}{{ r.error }}{% endmacro %}Down: {{ m(data.slots) }}"
    [(path, message)] = warned(f'      - action: send_text\n        text: "{template}"\n')
    assert path == "states.SLOTS.on_enter[1].text"
    assert message.startswith("data.slots.error is missing after a successful answer")


def test_a_read_through_a_namespace_warns_at_its_place() -> None:
    template = "{% set ns = namespace(r=data.slots) %}{{ ns.r.failed }}"
    [(path, _)] = warned(f'      - action: send_text\n        text: "{template}"\n')
    assert path == "states.SLOTS.on_enter[1].text"


@pytest.mark.parametrize(
    ("action", "path"),
    [
        (
            '      - action: set_data\n        values: {why: "{{ [data.slots.error] }}"}\n',
            "states.SLOTS.on_enter[1].values.why",
        ),
        (
            "      - action: invoke_connector\n        connector: notification\n"
            "        operation: send\n"
            "        params: {message: \"{{ {'why': data.slots.error} }}\"}\n",
            "states.SLOTS.on_enter[1].params.message",
        ),
        (
            "      - action: schedule_task\n        task: t\n        delay: 1h\n"
            '        data: {why: "{{ [data.slots.error] }}"}\n',
            "states.SLOTS.on_enter[1].data.why",
        ),
    ],
)
def test_a_list_a_value_field_keeps_as_data_warns(action: str, path: str) -> None:
    assert [p for p, _ in warned(action)] == [path]


@pytest.mark.parametrize(
    "action",
    [
        # A text prints the list's `repr`; the renderer does not take this for a lone `{{ }}`.
        '      - action: send_text\n        text: "{{ [data.slots.error] }}"\n',
        "      - action: set_data\n        values: {why: \"{{ ['}}', data.slots.error] }}\"}\n",
        "      - action: set_data\n"
        "        values: {why: \"{{ [data.slots.error | default('')] }}\"}\n",
    ],
)
def test_a_list_printed_or_guarded_does_not_warn(action: str) -> None:
    assert warned(action) == []


# ---------------------------------------------------------------- built at random

#: Ways to carry a value on (`{}` is the value so far; `{n}` a fresh name): a name, a
#: namespace's attribute, a list's item, a `with`.
CARRIERS = [
    ("{{% set v{n} = {e} %}}", "v{n}"),
    ("{{% set ns{n} = namespace(a={e}) %}}", "ns{n}.a"),
    ("{{% set ns{n} = namespace() %}}{{% set ns{n}.a = {e} %}}", "ns{n}.a"),
    ("{{% set l{n} = [1, {e}] %}}", "l{n}[1]"),
    ("", "[{e}][0]"),
]
#: Ways to read `.error` of the value at the end: printed, through a macro, guarded, defaulted.
ENDS = [
    ("{{{{ {e}.error }}}}", True),
    ("{{% macro m(p) %}}{{{{ p.error }}}}{{% endmacro %}}{{{{ m({e}) }}}}", True),
    ("{{{{ [{e}.error] | join }}}}", True),
    ("{{% if data.slots.failed is defined %}}{{{{ {e}.error }}}}{{% endif %}}", False),
    ("{{{{ {e}.error | default('') }}}}", False),
    ("{{% macro m(p) %}}{{{{ p.error | default('') }}}}{{% endmacro %}}{{{{ m({e}) }}}}", False),
]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["data.slots", "data.failure"]),
    st.lists(st.sampled_from(CARRIERS), max_size=4),
    st.sampled_from(ENDS),
    st.booleans(),
)
def test_a_value_carried_along_warns_exactly_when_the_renderer_counts_it(
    start: str,
    carriers: list[tuple[str, str]],
    end: tuple[str, bool],
    rebound: bool,
) -> None:
    source, value = "", start
    for n, (statement, carried) in enumerate(carriers):
        source += statement.format(n=n, e=value)
        value = carried.format(n=n, e=value)
    if rebound and carriers and carriers[-1][1].startswith("ns"):
        # The attribute set to a failure afterwards: what is read then is not the answer.
        source += f"{{% set {value} = data.failure %}}"
        start = "data.failure"
    template, readable = end
    source += template.format(e=value)
    is_counted = start == "data.slots" and readable
    assert counted(source, as_data=False) is is_counted, source
    assert found(source, as_data=False) is is_counted, source
