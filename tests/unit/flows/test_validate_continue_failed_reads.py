"""A read of `data.<key>.failed`, `<key>` the `result_key` of a call with `on_error: {continue:
true}`, where a successful answer (which has no `failed`) makes it a counted missing value: a
validator warning naming the fix, `is defined`. Reads the renderer does not count are left alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from botfleet.domain.errors import FlowIssue
from botfleet.flows._failed_reads import FailedRead, failed_reads_in
from botfleet.flows.effects import Diagnostic
from botfleet.flows.load import load_flow, load_flow_text
from botfleet.flows.render import Renderer, parse_checked

ROOT = Path(__file__).parents[3]
MARK = "is missing after a successful answer"

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
TAIL = """\
    fallback: SLOTS
"""


def flow_with(action: str, *, head: str = HEAD) -> str:
    """`head`'s call followed by `action` (YAML for one more action, indented as a list item)."""
    return head + action + TAIL


def failed_reads(source: str, keys: dict[str, str], *, expression: bool) -> list[FailedRead]:
    """What the validator finds in `source`, on the tree it parses once for all its checks."""
    tree = parse_checked(source, expression=expression).tree
    assert tree is not None
    return failed_reads_in(tree, keys, expression=expression)


def warned(text: str) -> list[tuple[int | None, str, str]]:
    issues: tuple[FlowIssue, ...] = load_flow_text(text, "t.yaml").warnings
    return [(i.line, i.path, i.message) for i in issues if MARK in i.message]


def when(condition: str) -> str:
    return f"      - action: send_text\n        when: {condition}\n        text: Hi\n"


def test_a_bare_failed_in_a_when_names_its_line_path_and_fix() -> None:
    assert warned(flow_with(when('"data.slots.failed"'))) == [
        (
            12,
            "states.SLOTS.on_enter[1].when",
            "data.slots.failed is missing after a successful answer (only a failure of "
            "states.SLOTS.on_enter[0], with on_error: {continue: true}, stores failed): a "
            "warning each turn, an error under strict templates; write 'data.slots.failed is "
            "defined'",
        )
    ]


def test_a_negated_read_is_told_to_write_is_not_defined() -> None:
    [(_, _, message)] = warned(flow_with(when('"not data.slots.failed"')))
    assert message.endswith("write 'data.slots.failed is not defined' for 'not data.slots.failed'")


@pytest.mark.parametrize(
    "condition",
    [
        '"data.slots.failed"',
        "\"data['slots'].failed\"",
        "\"data.slots['failed']\"",
        '"data.slots.failed == true"',
        '"data.other and data.slots.failed"',
        '"data.slots.failed or data.other"',
        '"(data.slots.failed | length) > 0"',
        '"{{ data.slots.failed }}"',  # a condition wrapped in `{{ }}` runs as one
    ],
)
def test_each_counted_form_in_a_condition_warns(condition: str) -> None:
    [(_, path, _)] = warned(flow_with(when(condition)))
    assert path == "states.SLOTS.on_enter[1].when"


@pytest.mark.parametrize(
    ("action", "path"),
    [
        (
            '      - action: set_data\n        values: {down: "{{ data.slots.failed }}"}\n',
            "states.SLOTS.on_enter[1].values.down",
        ),
        (
            "      - action: send_text\n        text: \"Down: {{ 'x' ~ data.slots.failed }}\"\n",
            "states.SLOTS.on_enter[1].text",
        ),
        (
            "      - action: send_text\n        text: \"{{ data.slots.failed and 'down' }}\"\n",
            "states.SLOTS.on_enter[1].text",
        ),
    ],
)
def test_a_printed_read_in_a_template_warns(action: str, path: str) -> None:
    [(_, found, _)] = warned(flow_with(action))
    assert found == path


def test_transition_and_next_conditions_and_tasks_are_checked() -> None:
    text = (
        HEAD
        + "    next:\n"
        + '      - {condition: "data.slots.failed", target: DOWN}\n'
        + "      - {target: DOWN}\n"
        + "  DOWN:\n"
        + "    transitions:\n"
        + '      - {condition: "data.slots.failed", target: SLOTS}\n'
        + "    fallback: DOWN\n"
        + "tasks:\n"
        + "  remind:\n"
        + "    - action: send_text\n"
        + '      when: "data.slots.failed"\n'
        + "      text: Hi\n"
    )
    assert [path for _, path, _ in warned(text)] == [
        "states.SLOTS.next[0].condition",
        "states.DOWN.transitions[0].condition",
        "tasks.remind[0].when",
    ]


def test_a_dotted_result_key_is_matched_however_it_is_read() -> None:
    head = HEAD.replace("result_key: slots", "result_key: booking.slots")
    text = flow_with(
        when('"data.booking.slots.failed"') + when("\"data['booking.slots'].failed\""), head=head
    )
    assert [path for _, path, _ in warned(text)] == [
        "states.SLOTS.on_enter[1].when",
        "states.SLOTS.on_enter[2].when",
    ]


@pytest.mark.parametrize(
    "condition",
    [
        '"data.slots.failed is defined"',
        '"data.slots.failed is not defined"',
        '"data.slots.failed is undefined"',
        '"data.slots.failed | default(false)"',
        '"not (data.slots.failed | default(false))"',
        '"data.slots.failed is defined and data.slots.failed"',
        '"data.slots.failed is undefined or not data.slots.failed"',
        "\"data.slots.failed is defined and data.slots['failed'] == true\"",
        '"data.slots.error is defined"',
        '"data.slots | length > 0"',
    ],
)
def test_a_guarded_read_in_a_condition_does_not_warn(condition: str) -> None:
    assert warned(flow_with(when(condition))) == []


@pytest.mark.parametrize(
    "text",
    [
        # In a template only printing a missing value counts: these test it quietly.
        "\"{{ 'down' if data.slots.failed else 'up' }}\"",
        '"{% if data.slots.failed %}down{% endif %}"',
        '"{% if data.slots.failed is defined %}{{ data.slots.failed }}{% endif %}"',
        "\"{{ data.slots.failed or 'up' }}\"",
        "\"{{ data.slots.failed | default('up') }}\"",
    ],
)
def test_a_quiet_read_in_a_template_does_not_warn(text: str) -> None:
    assert warned(flow_with(f"      - action: send_text\n        text: {text}\n")) == []


@pytest.mark.parametrize(
    "route",
    ["on_error: SLOTS", 'on_error: {text: "Down"}', "on_error: {continue: false}", ""],
)
def test_a_result_key_without_continue_does_not_warn(route: str) -> None:
    head = HEAD.replace("on_error: {continue: true}", route)
    assert warned(flow_with(when('"data.slots.failed"'), head=head)) == []


def test_another_key_does_not_warn() -> None:
    assert warned(flow_with(when('"data.other.failed"'))) == []


# ---------------------------------------------------------------- `error`, stored with `failed`


def text(template: str) -> str:
    return f"      - action: send_text\n        text: {template}\n"


def test_a_printed_error_names_its_line_path_and_fix() -> None:
    assert warned(flow_with(text('"Down: {{ data.slots.error }}"'))) == [
        (
            12,
            "states.SLOTS.on_enter[1].text",
            "data.slots.error is missing after a successful answer (only a failure of "
            "states.SLOTS.on_enter[0], with on_error: {continue: true}, stores error): a "
            'warning each turn, an error under strict templates; write "data.slots.error | '
            "default('')\" or read it only when 'data.slots.failed is defined'",
        )
    ]


def test_a_negated_error_gets_the_same_fix() -> None:
    [(_, _, message)] = warned(flow_with(when('"not data.slots.error"')))
    assert message.endswith("or read it only when 'data.slots.failed is defined'")


@pytest.mark.parametrize(
    "condition",
    [
        '"data.slots.error"',
        "\"data.slots.error == 'timeout'\"",
        "\"data['slots']['error'] != 'timeout'\"",
        "\"data.slots.error in ['timeout', 'unavailable']\"",
        "\"data.slots.error | lower == 'timeout'\"",
        "\"data.slots.error is eq 'timeout'\"",
        "\"{{ data.slots.error == 'timeout' }}\"",
    ],
)
def test_each_counted_error_in_a_condition_warns(condition: str) -> None:
    [(_, path, message)] = warned(flow_with(when(condition)))
    assert (path, message[:16]) == ("states.SLOTS.on_enter[1].when", "data.slots.error")


@pytest.mark.parametrize(
    "template",
    [
        '"{{ data.slots.error }}"',
        "\"{{ 'code ' ~ data.slots.error }}\"",
        '"{{ data.slots.error | upper }}"',
        '"{% set r = data.slots %}{{ r.error }}"',
        '"{% set d = data %}{{ d.slots.error }}"',
    ],
)
def test_each_printed_error_in_a_template_warns(template: str) -> None:
    [(_, path, message)] = warned(flow_with(text(template)))
    assert (path, message[:16]) == ("states.SLOTS.on_enter[1].text", "data.slots.error")


@pytest.mark.parametrize(
    "condition",
    [
        "\"data.slots.failed is defined and data.slots.error == 'timeout'\"",
        "\"data.slots.error is defined and data.slots.error == 'timeout'\"",
        "\"data.slots.failed is not defined or data.slots.error != 'timeout'\"",
        "\"data.slots.error | default('') == 'timeout'\"",
        '"data.slots.error is defined"',
        '"data.slots.error is string"',
    ],
)
def test_a_guarded_error_in_a_condition_does_not_warn(condition: str) -> None:
    assert warned(flow_with(when(condition))) == []


@pytest.mark.parametrize(
    "template",
    [
        '"{% if data.slots.failed is defined %}{{ data.slots.error }}{% endif %}"',
        "\"{{ data.slots.error if data.slots.failed is defined else '' }}\"",
        "\"{{ data.slots.error | default('') }}\"",
        "\"{% if data.slots.error == 'timeout' %}late{% endif %}\"",
        '"{% set r = data.slots %}{% if r.failed is defined %}{{ r.error }}{% endif %}"',
        # `r` bound again to something else: no longer the call's result.
        '"{% set r = data.slots %}{% set r = data.other %}{{ r.error }}"',
        '"{% set r = data.slots %}{% for r in data.other %}{{ r.error }}{% endfor %}"',
    ],
)
def test_a_guarded_or_quiet_error_in_a_template_does_not_warn(template: str) -> None:
    assert warned(flow_with(text(template))) == []


def test_a_dotted_result_key_is_matched_through_an_alias() -> None:
    head = HEAD.replace("result_key: slots", "result_key: booking.slots")
    found = warned(flow_with(text('"{% set b = data.booking %}{{ b.slots.error }}"'), head=head))
    assert [message[:24] for _, _, message in found] == ["data.booking.slots.error"]


@pytest.mark.parametrize(
    ("name", "in_a_condition", "in_a_template"),
    [
        *((name, True, True) for name in ["upper", "trim", "title", "string", "e", "wordcount"]),
        *((name, True, False) for name in ["length", "join", "list", "first", "sort"]),
        *((name, False, False) for name in ["default", "d", "map", "unique"]),
    ],
)
def test_a_filter_counts_exactly_where_the_renderer_counts_it(
    name: str, in_a_condition: bool, in_a_template: bool
) -> None:
    condition = f"(data.slots.error | {name}) == 'zz'"
    template = f"{{{{ data.slots.error | {name} }}}}"
    assert counted_at_run_time(condition, expression=True) is in_a_condition
    assert bool(failed_reads(condition, KEYS, expression=True)) is in_a_condition
    assert counted_at_run_time(template, expression=False) is in_a_template
    assert bool(failed_reads(template, KEYS, expression=False)) is in_a_template


# ---------------------------------------------------------------- agreement with the renderer

#: `failure` is what a failed call stores, to bind a name to something else in between.
AFTER_AN_ANSWER = {
    "data": {
        "slots": [{"start": "10:00"}],
        "other": True,
        "failure": {"failed": True, "error": "timeout"},
    }
}
KEYS = {"slots": "states.SLOTS.on_enter[0]"}
CONDITIONS = [
    ("data.slots.failed", True),
    ("not data.slots.failed", True),
    ("data.slots.failed == true", True),
    ("data.other and data.slots.failed", True),
    ("('down' if data.slots.failed else 'up') == 'up'", True),
    ("data.slots.failed is defined", False),
    ("data.slots.failed | default(false)", False),
    ("data.slots.failed is defined and data.slots.failed", False),
    ("data.slots.error", True),
    ("data.slots.error == 'timeout'", True),
    ("'timeout' == data.slots.error", True),
    ("data.slots.error in ['timeout', 'unavailable']", True),
    ("'time' in data.slots.error", True),
    ("data.slots.error | upper == 'TIMEOUT'", True),
    ("data.slots.error is eq 'timeout'", True),
    ("data.other is eq data.slots.error", True),
    ("data.slots.error is lower", True),
    ("data.slots.error is sequence", True),
    ("(data.slots.error or '') == ''", True),
    ("data.slots.failed is defined and data.slots.error == 'timeout'", False),
    ("data.slots.error is defined and data.slots.error == 'timeout'", False),
    ("data.slots.error is defined and data.slots.failed", False),
    ("data.slots.failed is undefined or data.slots.error == 'timeout'", False),
    ("data.slots.error | default('') == 'timeout'", False),
    ("data.slots.error | d('') == 'timeout'", False),
    ("data.slots.error is string", False),
    ("data.slots.error is none", False),
    # Put into a string, or a method called on it.
    ("'%s' % data.slots.error == ''", True),
    ("'{}'.format(data.slots.error) == ''", True),
    ("data.slots.error.startswith('t')", True),
    ("data.slots.failed is defined and '%s' % data.slots.error == 'x'", False),
    ("data.slots.failed is defined and data.slots.error.startswith('t')", False),
]
#: Names bound to the result (or to the field), for as long as Jinja keeps them bound.
ALIASES = [
    ("{% with r = data.slots %}{{ r.failed }}{% endwith %}", True),
    ("{% with r = data.slots %}{{ r.error }}{% endwith %}", True),
    ("{% with r = data.slots.error %}{{ r }}{% endwith %}", True),
    ("{% with %}{% set r = data.slots %}{{ r.error }}{% endwith %}", True),
    ("{% set r = data.slots %}{% with r = r %}{{ r.error }}{% endwith %}", True),
    (
        "{% with r = data.slots %}{% if r.failed is defined %}{{ r.error }}{% endif %}"
        "{% endwith %}",
        False,
    ),
    ("{% with r = data.slots %}{{ r.error | default('') }}{% endwith %}", False),
    ("{% set r = data.slots %}{% with r = data.failure %}{{ r.error }}{% endwith %}", False),
    # A `with`'s, a loop's, a filter block's or a macro's own names end with it.
    ("{% set r = data.slots %}{% with r = data.failure %}{% endwith %}{{ r.error }}", True),
    ("{% set r = data.failure %}{% with r = data.slots %}{% endwith %}{{ r.error }}", False),
    ("{% set r = data.slots %}{% for r in data.slots %}{% endfor %}{{ r.error }}", True),
    ("{% for s in data.slots %}{% set r = data.slots %}{{ r.error }}{% endfor %}", True),
    (
        "{% set r = data.failure %}{% for s in data.slots %}{% set r = data.slots %}{% endfor %}"
        "{{ r.error }}",
        False,
    ),
    (
        "{% set r = data.failure %}{% filter upper %}{% set r = data.slots %}{% endfilter %}"
        "{{ r.error }}",
        False,
    ),
    (
        "{% set r = data.failure %}{% macro m() %}{% set r = data.slots %}{% endmacro %}{{ m() }}"
        "{{ r.error }}",
        False,
    ),
    (
        "{% set r = data.slots %}{% macro m(r) %}{{ r.error }}{% endmacro %}{{ m(data.failure) }}",
        False,
    ),
    ("{% set r = data.slots %}{% set r = r.error %}{{ r }}", True),
    ("{% set a, b = data.slots, data.failure %}{{ a.error }}", True),
    ("{% set a, b = data.failure, data.slots %}{{ a.error }}", False),
    ("{% for s in data.slots %}{{ s }}{% endfor %}", False),
]
#: `%` and `str.format` print what their format shows (`%r` and `{!r}` a `repr`: quiet).
INTO_A_STRING = [
    ("{{ '%s' % data.slots.failed }}", True),
    ("{{ '%s %s' % (data.slots.error, 1) }}", True),
    ("{{ '%(e)s' % {'e': data.slots.error} }}", True),
    ("{{ (data.failure.error ~ ': %s') % data.slots.error }}", True),
    ("{{ '%d' % data.slots.error }}", True),
    ("{% set m = '%s' % data.slots.error %}", True),
    ("{% set r = data.slots %}{{ '%s' % r.error }}", True),
    ("{{ '%(e)s' | format(e=data.slots.error) }}", True),
    ("{{ '{}'.format(data.slots.error) }}", True),
    ("{{ '{0}'.format(data.slots.failed) }}", True),
    ("{{ '{e}'.format(e=data.slots.error) }}", True),
    ("{{ '{0.error}'.format(data.slots) }}", True),
    ("{{ '{0[error]}'.format(data.slots) }}", True),
    ("{{ '{r.error}'.format(r=data.slots) }}", True),
    ("{{ '{e}'.format_map({'e': data.slots.error}) }}", True),
    ("{% with r = data.slots %}{{ '{}'.format(r.error) }}{% endwith %}", True),
    ("{{ '%r' % data.slots.error }}", False),
    ("{{ '%r' | format(data.slots.error) }}", False),
    ("{{ '%(a)s' % {'a': 1, 'e': data.slots.error} }}", False),
    ("{{ '{!r}'.format(data.slots.error) }}", False),
    ("{{ '{1}'.format(data.slots.error, 2) }}", False),
    ("{{ '%s' % data.slots.error | default('') }}", False),
    ("{{ '{}'.format(data.slots.error | default('')) }}", False),
    ("{{ '%s' % data.slots.error if data.slots.failed is defined else '' }}", False),
    ("{% if data.slots.failed is defined %}{{ '{0.error}'.format(data.slots) }}{% endif %}", False),
]
#: Arithmetic and calls fail on a missing value; a lookup on one is as missing.
OPERATIONS = [
    ("{{ data.slots.error + 'x' }}", True),
    ("{{ -data.slots.error }}", True),
    ("{{ data.slots.error.upper() }}", True),
    ("{{ data.slots.error[0] }}", True),
    ("{{ data.slots.error.code }}", True),
    ("{% if data.slots.error.code %}x{% endif %}", False),
    ("{% if data.slots.failed is defined %}{{ data.slots.error.upper() }}{% endif %}", False),
]
TEMPLATES = [
    ("{{ data.slots.failed }}", True),
    ("x {{ 'x' ~ data.slots.failed }}", True),
    ("{{ data.slots.failed and 'down' }}", True),
    ("{{ 'down' if data.slots.failed else 'up' }}", False),
    ("{% if not data.slots.failed %}up{% endif %}", False),
    ("{{ data.slots.failed or 'up' }}", False),
    ("{{ data.slots.error }}", True),
    ("{{ data['slots']['error'] }}", True),
    ("Sorry ({{ 'code ' ~ data.slots.error }})", True),
    ("{{ data.slots.error | upper }}", True),
    ("{{ data.slots.error | replace('_', ' ') }}", True),
    ("{{ '%s!' | format(data.slots.error) }}", True),
    ("{% if data.slots.error is lower %}x{% endif %}", True),
    ("{% set r = data.slots %}{{ r.error }}", True),
    ("{% set e = data.slots.error %}{{ e }}", True),
    ("{% if data.slots.failed is defined %}{{ data.slots.error }}{% endif %}", False),
    ("{% if data.slots.error is defined %}{{ data.slots.error }}{% endif %}", False),
    ("{% if data.slots.failed is undefined %}up{% else %}{{ data.slots.error }}{% endif %}", False),
    ("{{ data.slots.error if data.slots.failed is defined else '' }}", False),
    ("{{ data.slots.error | default('') }}", False),
    ("{{ data.slots.error | length }}", False),
    ("{% if data.slots.error == 'timeout' %}late{% endif %}", False),
    ("{{ 'late' if data.slots.error == 'timeout' else '' }}", False),
    ("{% set r = data.slots %}{% if r.failed is defined %}{{ r.error }}{% endif %}", False),
    *ALIASES,
    *INTO_A_STRING,
    *OPERATIONS,
]


def counted_at_run_time(source: str, *, expression: bool) -> bool:
    sink: list[Diagnostic] = []
    renderer = Renderer(AFTER_AN_ANSWER, sink=sink)
    if expression:
        renderer.condition(source, "w")
    else:
        renderer.text(source, "w")
        renderer.value(source, "w")
    # Arithmetic and calls on a missing value fail the template instead (Jinja's `Undefined`).
    return any(
        d.detail in {"missing value 'failed'", "missing value 'error'"}
        or (d.detail.startswith("UndefinedError") and d.detail.endswith(("'failed'", "'error'")))
        for d in sink
    )


@pytest.mark.parametrize(("source", "counted"), CONDITIONS)
def test_a_condition_warns_exactly_when_the_renderer_counts_it(source: str, counted: bool) -> None:
    assert counted_at_run_time(source, expression=True) is counted
    assert bool(failed_reads(source, KEYS, expression=True)) is counted


@pytest.mark.parametrize(("source", "counted"), TEMPLATES)
def test_a_template_warns_exactly_when_the_renderer_counts_it(source: str, counted: bool) -> None:
    assert counted_at_run_time(source, expression=False) is counted
    assert bool(failed_reads(source, KEYS, expression=False)) is counted


def test_the_projects_own_flows_do_not_warn() -> None:
    paths = sorted([*ROOT.glob("examples/*/*.yaml"), *ROOT.glob("flows/*.yaml")])
    flows = [p for p in paths if "states" in (yaml.safe_load(p.read_text(encoding="utf-8")) or {})]
    assert flows, "no flow found under examples/ and flows/"
    for path in flows:
        assert [i for i in load_flow(path).warnings if MARK in i.message] == [], path


def test_an_item_of_a_loop_over_the_result_is_not_the_result() -> None:
    # Its `failed` is missing after an answer (an item is the answer's), and after a failure
    # too (the items are then the names "failed" and "error"): `data.slots.failed is defined`
    # would not fix it, so the warning, which says to write that, is not given.
    source = "{% for s in data.slots %}{{ s.failed }}{% endfor %}"
    assert counted_at_run_time(source, expression=False)
    assert failed_reads(source, KEYS, expression=False) == []


@pytest.mark.parametrize(
    ("template", "field"),
    [
        ('"{% with r = data.slots %}{{ r.failed }}{% endwith %}"', "failed"),
        ('"{% set a, b = data.slots, data.other %}{{ a.error }}"', "error"),
        ('"{% set r = data.slots %}{% for s in r %}{% endfor %}{{ r.error }}"', "error"),
        ("\"{{ '%s' % data.slots.failed }}\"", "failed"),
        ("\"{{ 'Down: {}'.format(data.slots.error) }}\"", "error"),
        ("\"{{ '{0.error}'.format(data.slots) }}\"", "error"),
        ('"{{ data.slots.error.upper() }}"', "error"),
    ],
)
def test_an_alias_or_a_string_built_from_a_read_warns_at_its_place(
    template: str, field: str
) -> None:
    [(line, path, message)] = warned(flow_with(text(template)))
    assert (line, path) == (12, "states.SLOTS.on_enter[1].text")
    assert message.startswith(f"data.slots.{field} is missing after a successful answer")


@pytest.mark.parametrize(
    "template",
    [
        '"{% with r = data.slots %}{% if r.failed is defined %}{{ r.error }}{% endif %}'
        '{% endwith %}"',
        "\"{% with r = data.slots %}{{ r.error | default('') }}{% endwith %}\"",
        '"{% with r = data.slots %}{% endwith %}{% set r = data.other %}{{ r.error }}"',
        '"{% set r = data.other %}{% for s in data.x %}{% set r = data.slots %}{% endfor %}'
        '{{ r.error }}"',
        "\"{{ '%s' % data.slots.error if data.slots.failed is defined else '' }}\"",
        "\"{{ '{}'.format(data.slots.error | default('')) }}\"",
    ],
)
def test_a_guarded_or_unbound_alias_does_not_warn(template: str) -> None:
    assert warned(flow_with(text(template))) == []
