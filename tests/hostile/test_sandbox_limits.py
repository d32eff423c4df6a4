"""Every limit of the template sandbox, through the public `Renderer`: hostile templates render
"" with a diagnostic (a `TemplateError` in strict mode), quickly, and never crash the caller."""

from __future__ import annotations

import time
from typing import Any

import pytest
from jinja2.exceptions import SecurityError

from botfleet.domain.errors import TemplateError
from botfleet.flows._sandbox_limits import CHECKED_FILTERS, MAX_OUTPUT, MAX_STEPS, guard_filter
from botfleet.flows.effects import Diagnostic
from botfleet.flows.render import MAX_EXPONENT, MAX_RANGE, Renderer

#: Generous for a 2-core CI machine shared with other jobs; an unbounded template takes minutes.
QUICK_S = 2.0
VARIABLES: dict[str, Any] = {
    "data": {"name": "Ana", "items": [1, 2, 3], "text": "a b c d"},
    "message": {"text": "hola"},
}

HOSTILE = {
    "huge loop": "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}x",
    "nested loops over a list": (
        "{% set l = range(900) | list %}"
        "{% for a in l %}{% for b in l %}{% for c in l %}{% endfor %}{% endfor %}{% endfor %}"
    ),
    "range over the limit": f"{{{{ range({MAX_RANGE + 1}) | list | length }}}}",
    "percent width": "{{ '%999999999d' % 1 }}",
    "percent precision": "{{ '%.999999999f' % 1 }}",
    "percent star width": "{{ '%*d' % (999999999, 1) }}",
    "format width": "{{ '{:999999999}'.format(1) }}",
    "format computed width": "{{ '{:{w}}'.format(1, w=999999999) }}",
    "format_map width": "{{ '{x:999999999}'.format_map({'x': 1}) }}",
    "format filter width": "{{ '%999999999s' | format('a') }}",
    "center filter": "{{ 'x' | center(10**9) }}",
    "center method": "{{ 'x'.center(10**9) }}",
    "ljust method": "{{ 'x'.ljust(10**9) }}",
    "zfill method": "{{ '1'.zfill(10**9) }}",
    "replace method": "{{ ('a' * 10000).replace('a', 'b' * 10000) }}",
    "replace empty needle": "{{ ('a' * 10000).replace('', 'bb') }}",
    "replace filter": "{{ ('a' * 10000) | replace('a', 'bbbbbbbbbb') }}",
    "join method": "{{ ('x' * 1000).join(range(1000) | map('string') | list) }}",
    "join filter": "{{ range(1000) | map('string') | join('y' * 1000) }}",
    "indent filter": "{{ ('a\n' * 5000) | indent(10000) }}",
    "wordwrap filter": "{{ ('a ' * 8000) | wordwrap(1, wrapstring='z' * 1000) }}",
    "tojson indent": "{{ range(1000) | list | tojson(indent=100000) }}",
    "batch filter": "{{ [1] | batch(10**9) | list }}",
    "slice filter": "{{ [1] | slice(10**9) | list }}",
    "string repeat": "{{ 'a' * 10**8 }}",
    "list repeat": "{{ [1, 2] * 10**8 }}",
    "doubling in a loop": (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}"
    ),
    "doubling with plus": (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}"
    ),
    "big exponent": f"{{{{ 10 ** {MAX_EXPONENT + 1} }}}}",
    "tower exponent": "{{ 10 ** (10 ** 8) }}",
    "list literal of a big string": "{{ ['a' * 16000, 'b' * 16000] }}",
    "sum of lists": "{{ [[1] * 10000, [2] * 10000] | sum(start=[]) }}",
    "list append refused": "{% set l = [] %}{% for i in range(10) %}{{ l.append(i) }}{% endfor %}",
    "dict update refused": "{% set d = {} %}{{ d.update({'a': 1}) }}",
    "data append refused": "{{ data['items'].append(4) }}",
    "macro recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "mutual macro recursion": (
        "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}"
    ),
    "lipsum removed": "{{ lipsum(n=100000) }}",
    "translate refused": "{{ 'abc'.translate({97: 'x' * 100}) }}",
    "expandtabs refused": "{{ ('\t' * 1000).expandtabs(100000) }}",
    "encode refused": "{{ 'abc'.encode('utf-8') }}",
}

ESCAPES = {
    "class mro": "{{ ''.__class__.__mro__ }}",
    "subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "mro method": "{{ ''.__class__.mro() }}",
    "cycler globals": "{{ cycler.__init__.__globals__['os'] }}",
    "cycler internals": "{{ cycler('a', 'b').items }}{{ cycler('a').__dict__ }}",
    "joiner globals": "{{ joiner.__init__.__globals__ }}",
    "joiner internals": "{{ joiner(',').sep.__class__ }}{{ joiner().__dict__ }}",
    "namespace internals": "{{ namespace().__init__.__globals__ }}",
    "function globals": "{{ range.__globals__ }}",
    "attr filter": "{{ (data | attr('__class__')).__base__.__subclasses__() }}",
    "format attribute walk": "{{ '{0.__class__.__mro__}'.format(data) }}",
    "format_map attribute walk": "{{ '{x.__class__}'.format_map({'x': data}) }}",
    "percent attribute": "{{ '%(a)s' % data.__class__.__dict__ }}",
    "self": "{{ self.__dict__ }}{{ self._TemplateReference__context }}",
    "builtins": "{{ __builtins__ }}{{ config }}{{ request }}{{ os }}",
    "getattr through map": "{{ [data] | map(attribute='__class__') | list }}",
}


def _render(source: str, *, strict: bool = False) -> tuple[str, list[Diagnostic], float]:
    sink: list[Diagnostic] = []
    started = time.perf_counter()
    text = Renderer(VARIABLES, strict=strict, sink=sink).text(source, "state.X.text")
    return text, sink, time.perf_counter() - started


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_renders_nothing_with_a_diagnostic_quickly(source: str) -> None:
    text, sink, elapsed = _render(source)
    assert text == ""
    assert sink, "no diagnostic"
    assert {d.event for d in sink} == {"template_failed"}
    assert all(d.where == "state.X.text" for d in sink)
    assert elapsed < QUICK_S


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_is_a_template_error_in_strict_mode(source: str) -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateError):
        Renderer(VARIABLES, strict=True, sink=[]).text(source, "w")
    assert time.perf_counter() - started < QUICK_S


EXPRESSIONS = {
    name: source
    for name, source in HOSTILE.items()
    if source.startswith("{{") and source.endswith("}}") and source.count("{{") == 1
}


@pytest.mark.parametrize("source", EXPRESSIONS.values(), ids=EXPRESSIONS.keys())
def test_a_hostile_expression_is_empty_data_and_a_false_condition(source: str) -> None:
    sink: list[Diagnostic] = []
    renderer = Renderer(VARIABLES, sink=sink)
    assert renderer.value(source, "w") == ""
    assert renderer.condition(source, "w") is False
    assert len(sink) == 2


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_a_sandbox_escape_reaches_nothing(source: str) -> None:
    text, _sink, elapsed = _render(source)
    for leaked in ("class", "module", "function", "built-in", "environ", "subclasses", "<", "os"):
        assert leaked not in text
    assert elapsed < QUICK_S


def test_recursive_loops_are_refused_at_parse_time() -> None:
    source = "{% for x in data['items'] recursive %}{{ loop(data['items']) }}{% endfor %}"
    text, sink, _ = _render(source)
    assert text == ""
    assert "recursive loops are not allowed" in sink[0].detail


def test_the_work_budget_is_per_render_and_refills() -> None:
    # Each render may spend almost the whole budget; a second render starts afresh.
    near = (
        f"{{% for i in range({MAX_RANGE}) %}}{{% for j in range(40) %}}"
        "{% endfor %}{% endfor %}ok"
    )
    assert MAX_RANGE * 41 < MAX_STEPS
    for _ in range(3):
        text, sink, _ = _render(near)
        assert (text, sink) == ("ok", [])


def test_values_just_under_the_limits_still_render() -> None:
    text, sink, _ = _render(f"{{{{ 'x' | center({MAX_OUTPUT}) | length }}}}")
    assert (text, sink) == (str(MAX_OUTPUT), [])
    text, sink, _ = _render("{{ '%5d|{:>6}' % 42 }}")
    assert (text, sink) == ("   42|{:>6}", [])
    text, sink, _ = _render("{{ '{:>6}'.format(42) }}{{ 2 ** 10 }}")
    assert (text, sink) == ("    421024", [])


def test_lists_in_data_are_unchanged_after_a_refused_append() -> None:
    _render("{{ data['items'].append(4) }}{{ data['items'].clear() }}")
    assert VARIABLES["data"]["items"] == [1, 2, 3]


def test_the_output_is_never_longer_than_the_limit() -> None:
    text, _, elapsed = _render("{% for i in range(1000) %}" + "y" * 200 + "{% endfor %}")
    assert len(text) <= MAX_OUTPUT
    assert elapsed < QUICK_S


#: A call of each filter whose arguments would make its result too large to build.
_OVERSIZED_FILTER_CALLS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "center": (("x", 10**9), {}),
    "batch": (([1], 10**9), {}),
    "slice": (([1], 10**9), {}),
    "indent": (("a\n" * 5000, 10_000), {}),
    "wordwrap": (("a " * 8000, 1), {"wrapstring": "z" * 1000}),
    "format": (("%999999999s", "a"), {}),
    "replace": (("a" * 10_000, "a", "b" * 10_000), {}),
    "join": ((["x"] * 1000, "y" * 1000), {}),
    "tojson": ((list(range(1000)),), {"indent": 100_000}),
    "sum": (([[1], [2]],), {"start": []}),
}


def test_every_checked_filter_is_listed() -> None:
    assert set(_OVERSIZED_FILTER_CALLS) == CHECKED_FILTERS


@pytest.mark.parametrize("name", sorted(_OVERSIZED_FILTER_CALLS))
def test_a_checked_filter_refuses_before_it_runs(name: str) -> None:
    # Refusing only the result would build it first: a gigabyte for `center(10**9)`.
    calls: list[object] = []
    guarded = guard_filter(name, lambda *args, **kwargs: calls.append(args))
    args, kwargs = _OVERSIZED_FILTER_CALLS[name]
    with pytest.raises(SecurityError):
        guarded(*args, **kwargs)
    assert calls == []


def test_an_unchecked_filter_still_has_its_result_bounded() -> None:
    guarded = guard_filter("upper", lambda value: value * 2)
    assert guarded("ab") == "abab"
    with pytest.raises(SecurityError, match="the upper filter's result"):
        guarded("a" * MAX_OUTPUT)
