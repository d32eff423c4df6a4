"""Templates that only print values, and conditions that only test one, skip Jinja's context:
they must give exactly what Jinja gives (text, value, missing values, errors, limits).

Each case runs twice: through the renderer as it is, and through a renderer whose fast paths
are switched off (every template compiled and run by Jinja); both must agree in lenient and in
strict mode.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.domain.errors import TemplateError
from botfleet.flows import render
from botfleet.flows.effects import Diagnostic
from botfleet.flows.render import MAX_OUTPUT, Renderer

VARIABLES: dict[str, Any] = {
    "data": {
        "name": "Ana",
        "n": 30,
        "zero": 0,
        "empty": [],
        "none": None,
        "flag": False,
        "items": "the items key",
        "slots": [{"title": "10:00"}, {"title": "10:30"}],
        "booking": {"success": True, "event_id": "e1", "nested": {"deep": "yes"}},
        "big": "x" * (MAX_OUTPUT + 1),
        "big_list": list(range(MAX_OUTPUT)),
        "half": "y" * (MAX_OUTPUT // 2 + 10),
        "_private": "underscore",
        "when": datetime(2024, 1, 8, 10, 0, tzinfo=UTC),
    },
    "message": {"text": "hola", "payload": "", "type": "text"},
    "contact": {"id": "c1", "name": "", "language": "es"},
    "tenant": {"id": "t1", "name": "Salon", "timezone": "UTC"},
    "today": "2024-01-08",
    "now": datetime(2024, 1, 8, 10, 0, tzinfo=UTC),
}

#: Printed lookups: every one takes the fast path.
SIMPLE_TEXTS = [
    "Hi {{ data.name }}",
    "{{data.name}} has {{ data.n }} at {{ today }}",
    "{{ data.booking.nested.deep }}!",
    "{{ data.absent }} and {{ data.absent.deeper }} and {{ nothing.at.all }}",
    "{{ data.items }} / {{ data.keys }} / {{ data.name.upper }}",
    "{{ data.zero }}{{ data.empty }}{{ data.none }}{{ data.flag }}",
    "{{ data._private }} {{ data.__class__ }} {{ now.__class__ }} {{ now._private }}",
    "{{ now.year }}-{{ now.tzinfo }} {{ data.when.month }}",
    "{{ data.big }}",
    "{{ data.big_list }}",
    "{{ data.half }}{{ data.half }}{{ data.missing_after_the_limit }}",
    "{{ data.slots }}",
    "line\r\none\rtwo\n{{ data.name }}\r\n",
    "{{- data.name -}}   {{ data.n }}  ",
    "{# a comment #}{{ data.name }}{# another #}",
    "{% raw %}{{ not rendered }}{% endraw %}{{ data.name }}",
    "{{ range }}{{ dict }}",
    "{{ message.text }} {{ contact.name }} {{ tenant.name }}",
    "{{ data }}",
]

#: Lone expressions (params, set_data) and conditions: every one takes the fast path.
SIMPLE_EXPRESSIONS = [
    "data.name",
    "data.n",
    "data.booking",
    "data.booking.success",
    "not data.booking.success",
    "data.absent",
    "not data.absent",
    "data.absent.deeper",
    "nothing",
    "not nothing.at.all",
    "data.empty",
    "not data.empty",
    "data.zero",
    "data.none",
    "data.flag",
    "data.when",
    "now",
    "now.year",
    "not now",
    "data.name.upper",
    "data.__class__",
    "now.__class__",
    "data.big",
    "data.big_list",
    "today",
    "range",
    "data",
    " data.name ",
]

#: Look alike but need Jinja: checked to fall back, and to agree all the same.
JINJA_TEXTS = [
    "{{ self }}",
    "{{ data['name'] }}",
    "{{ data.name | lower }}",
    "{% for s in data.slots %}{{ s.title }}{% endfor %}",
    "{{ not data.name }}",
    "{{ data.name }",
    "{{ data. }}",
    "{% if data.flag %}x{% endif %}",
    "{{ 'a' }}{{ data.name }}",
]
JINJA_EXPRESSIONS = [
    "not not data.name",
    "data.name == 'Ana'",
    "data.slots[0].title",
    "data.name | lower",
    "self",
    "true",
    "",
    "data.",
    "data.name data.n",
]


@contextmanager
def reference() -> Iterator[None]:
    """Every template and expression through Jinja, as before the fast paths."""
    saved = render._text_segments, render._expression_lookup
    render._text_program.cache_clear()
    render._expression_program.cache_clear()
    render._text_segments = lambda source: None  # type: ignore[assignment]
    render._expression_lookup = lambda source: None  # type: ignore[assignment]
    try:
        yield
    finally:
        render._text_segments, render._expression_lookup = saved
        render._text_program.cache_clear()
        render._expression_program.cache_clear()


_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def outcome(kind: str, source: str, *, strict: bool, jinja: bool) -> tuple[Any, ...]:
    """(result, diagnostics) or the strict error, with memory addresses blanked out."""
    sink: list[Diagnostic] = []
    renderer = Renderer(VARIABLES, strict=strict, sink=sink)
    run = getattr(renderer, kind)
    with reference() if jinja else nullcontext():
        try:
            result: Any = run(source, "states.S.on_enter[0]")
        except TemplateError as exc:
            result = ("TemplateError", exc.where, exc.detail)
    return _ADDRESS.sub(" at 0x?", repr(result)), sink


def assert_same(kind: str, source: str) -> None:
    for strict in (False, True):
        fast = outcome(kind, source, strict=strict, jinja=False)
        assert fast == outcome(kind, source, strict=strict, jinja=True), (kind, source, strict)


@pytest.mark.parametrize("source", SIMPLE_TEXTS)
def test_printed_lookups_skip_jinja_and_render_the_same(source: str) -> None:
    assert render._text_segments(source) is not None
    assert_same("text", source)


@pytest.mark.parametrize("source", SIMPLE_EXPRESSIONS)
def test_lookup_expressions_skip_jinja_and_give_the_same(source: str) -> None:
    assert render._expression_lookup(source.strip()) is not None
    assert_same("condition", source)
    assert_same("value", "{{" + source + "}}")


@pytest.mark.parametrize("source", JINJA_TEXTS)
def test_other_templates_run_in_jinja(source: str) -> None:
    assert render._text_segments(source) is None
    assert_same("text", source)


@pytest.mark.parametrize("source", JINJA_EXPRESSIONS)
def test_other_expressions_run_in_jinja(source: str) -> None:
    assert render._expression_lookup(source) is None
    assert_same("condition", source)
    assert_same("value", "{{" + source + "}}")


def test_the_size_limit_stops_a_fast_template_like_a_jinja_one() -> None:
    text, sink = outcome("text", "{{ data.big }}", strict=False, jinja=False)
    assert text == "''"
    assert [d.event for d in sink] == ["template_failed"]
    # Past the output limit the template fails, as a Jinja one does, and nothing more is
    # looked up, so the missing value after it is not reported.
    text, sink = outcome("text", SIMPLE_TEXTS[10], strict=False, jinja=False)
    assert text == "''"
    assert [(d.event, d.detail) for d in sink] == [
        (
            "template_failed",
            f"SecurityError: the rendered text would be over the size limit of {MAX_OUTPUT}",
        )
    ]


NAMES = ["data", "message", "contact", "tenant", "today", "now", "nothing", "self", "range"]
ATTRIBUTES = [
    "name", "n", "booking", "success", "nested", "deep", "absent", "empty", "slots", "items",
    "keys", "upper", "year", "tzinfo", "__class__", "_private", "big", "half", "text",
]  # fmt: skip
paths = st.builds(
    lambda first, rest: ".".join([first, *rest]),
    st.sampled_from(NAMES),
    st.lists(st.sampled_from(ATTRIBUTES), max_size=3),
)
literals = st.text(alphabet="ab \n\r{}%#-", max_size=6)
printed = st.builds(
    lambda path, left, right: "{{" + left + path + right + "}}",
    paths,
    st.sampled_from(["", " ", "- ", "  "]),
    st.sampled_from(["", " ", " -", "  "]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(literals, printed), max_size=6))
def test_random_templates_render_the_same_either_way(parts: list[str]) -> None:
    assert_same("text", "".join(parts))


@settings(max_examples=200, deadline=None)
@given(paths, st.booleans())
def test_random_lookups_evaluate_the_same_either_way(path: str, negated: bool) -> None:
    source = f"not {path}" if negated else path
    assert_same("condition", source)
    assert_same("value", "{{ " + source + " }}")
