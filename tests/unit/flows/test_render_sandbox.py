"""The template sandbox: no escape to Python internals, and costly templates stop early."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from botfleet.flows.effects import Diagnostic
from botfleet.flows.render import MAX_OUTPUT, MAX_RANGE, Renderer

VARIABLES = {
    "data": {"name": "Ana", "_private": "underscore keys are just data"},
    "message": {"text": "hola"},
    "now": datetime(2024, 1, 8, 10, 0, tzinfo=UTC),
}


def renderer() -> tuple[Renderer, list[Diagnostic]]:
    sink: list[Diagnostic] = []
    return Renderer(VARIABLES, sink=sink), sink


def render(source: str) -> tuple[str, list[Diagnostic]]:
    r, sink = renderer()
    return r.text(source, "w"), sink


def test_underscore_keys_of_data_are_plain_data() -> None:
    assert render("{{ data._private }}") == ("underscore keys are just data", [])


ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ joiner.__init__.__globals__['os'].environ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ data.__class__ }}",
    "{{ (data | attr('__class__')).__subclasses__() }}",
    "{{ now.__class__.__init__.__globals__ }}",
    "{{ now._private }}",
    "{{ self.__dict__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ '{0.__class__.__mro__}'.format(data) }}",
    "{{ range.__self__ }}",
    "{{ config }}{{ request }}{{ os }}{{ __builtins__ }}",
    "{% set x = ''.__class__ %}{{ x.__base__ }}",
    "{{ message.text.__class__.__base__.__subclasses__() }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_yield_nothing_dangerous(source: str) -> None:
    text, _ = render(source)
    for leaked in ("class", "module", "function", "built-in", "environ", "subclasses", "<"):
        assert leaked not in text
    r, _ = renderer()
    assert r.value(source, "w") == ""


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_are_never_true_conditions(source: str) -> None:
    r, _ = renderer()
    assert r.condition(source.replace("{{", "").replace("}}", ""), "w") is False


@pytest.mark.parametrize(
    "source",
    [
        f"{{{{ range({MAX_RANGE + 1}) | list | length }}}}",
        "{{ range(10 ** 9) | list }}",
        "{{ 'a' * 100000000 }}",
        "{{ [1] * 100000000 }}",
        "{{ 10 ** 100000000 }}",
        "{{ lipsum(n=100000) }}",
    ],
)
def test_costly_templates_stop_at_their_limits_quickly(source: str) -> None:
    started = time.perf_counter()
    text, diagnostics = render(source)
    assert time.perf_counter() - started < 1.0
    assert text == ""
    assert [d.event for d in diagnostics] == ["template_failed"]


def test_a_range_within_the_limit_works() -> None:
    assert render(f"{{{{ range({MAX_RANGE}) | list | length }}}}") == (str(MAX_RANGE), [])


def test_output_over_the_limit_fails_the_template() -> None:
    """A runaway loop renders empty and is logged, as flow-dsl.md says of any broken limit: not
    16,384 characters sent to the contact in four messages, unlogged."""
    text, diagnostics = render(
        f"{{% for i in range({MAX_RANGE}) %}}{{{{ 'x' * 100 }}}}{{% endfor %}}"
    )
    assert text == ""
    assert [(d.event, d.detail) for d in diagnostics] == [
        (
            "template_failed",
            f"SecurityError: the rendered text would be over the size limit of {MAX_OUTPUT}",
        )
    ]
    text, diagnostics = render("{% for i in range(1000) %}" + "x" * 20 + "{% endfor %}")
    assert (text, [d.event for d in diagnostics]) == ("", ["template_failed"])


def test_output_at_the_limit_is_kept_whole() -> None:
    text, diagnostics = render(
        f"{{% for i in range({MAX_OUTPUT // 32}) %}}{{{{ 'x' * 32 }}}}{{% endfor %}}"
    )
    assert (len(text), diagnostics) == (MAX_OUTPUT, [])
