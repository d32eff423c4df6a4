"""Templates nested deeply, and long chains of filters: refused or compiled, never a crash, and
compiled in time proportional to their length.

Jinja's parser and compiler recurse once per level of brackets, operators and filters, and
Python's compiler refuses more than 200 nested brackets: a `RecursionError` (or a `SyntaxError`)
used to escape the flow checks, failing the control plane's upload with a 500 and a data
plane's start with a traceback. Jinja's optimizer retried every level of a chain of filters,
so compiling one took time cubic in its length, in the control plane's event loop.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from botfleet.domain.errors import FlowValidationError
from botfleet.flows import render
from botfleet.flows._failed_reads import failed_reads_in
from botfleet.flows.effects import Diagnostic
from botfleet.flows.load import load_flow_text
from botfleet.flows.render import (
    TOO_DEEP,
    Renderer,
    condition_syntax_error,
    parse_checked,
    template_syntax_error,
    undeclared_in,
)

DEPTH = 2000
NESTED = {
    "parentheses": "(" * DEPTH + "1" + ")" * DEPTH,
    "lists": "[" * DEPTH + "]" * DEPTH,
    "signs": "-" * DEPTH + "1",
    "negations": "not " * DEPTH + "1",
    "filters": "1" + " | string" * DEPTH,
    "operators": " + ".join(["1"] * DEPTH),
}


@pytest.mark.parametrize("expression", NESTED.values(), ids=NESTED.keys())
def test_a_template_nested_too_deeply_is_a_syntax_error(expression: str) -> None:
    assert template_syntax_error("{{ " + expression + " }}") == f"template syntax error: {TOO_DEEP}"
    assert condition_syntax_error(expression) == f"condition syntax error: {TOO_DEEP}"
    # The validator's other checks get the tree when one parses (the nesting is in the
    # compiling): they refuse it too, never crash.
    tree = parse_checked(expression, expression=True).tree
    if tree is not None:
        assert undeclared_in(tree) == set()
        assert failed_reads_in(tree, {"x": "states.A.on_enter[0]"}, expression=True) == []


def undeclared(source: str, *, expression: bool = False) -> set[str]:
    """The names the validator finds `source` reads, on the tree it parses once."""
    tree = parse_checked(source, expression=expression).tree
    assert tree is not None
    return undeclared_in(tree)


@pytest.mark.parametrize("expression", NESTED.values(), ids=NESTED.keys())
def test_rendering_one_is_a_diagnostic(expression: str) -> None:
    sink: list[Diagnostic] = []
    renderer = Renderer({}, sink=sink)
    assert renderer.text("{{ " + expression + " }}", "w") == ""
    assert renderer.condition(expression, "w") is False
    assert len(sink) == 2
    assert all(d.detail.startswith(f"TemplateSyntaxError: {TOO_DEEP}") for d in sink)


def test_a_flow_with_one_names_its_line() -> None:
    flow = (
        "id: deep\ninitial_state: A\nstates:\n  A:\n    on_enter:\n"
        "      - action: send_text\n"
        f'        text: "{{{{ {NESTED["parentheses"]} }}}}"\n'
        "    fallback: A\n"
    )
    with pytest.raises(FlowValidationError) as caught:
        load_flow_text(flow, source="deep.yaml")
    [issue] = caught.value.issues
    assert (issue.line, issue.path) == (7, "states.A.on_enter[0].text")
    assert TOO_DEEP in issue.message


def test_a_long_chain_of_filters_is_checked_in_linear_time() -> None:
    # 190 links: just under Python's 200 nested brackets. Compiling it took 2.5 s, and
    # finding the names it reads 5 s.
    chain = "data.x" + " | sort" * 190
    started = time.perf_counter()
    assert template_syntax_error("{{ " + chain + " }}") is None
    assert condition_syntax_error(chain) is None
    assert undeclared("{{ " + chain + " }}") == {"data"}
    assert undeclared(chain, expression=True) == {"data"}
    assert time.perf_counter() - started < 0.5


def test_nothing_is_evaluated_while_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    # Constant folding ran filters while compiling, where no work budget applies: a flow
    # upload paid for every one of them, in the control plane's event loop.
    calls: list[object] = []
    title = render._env.filters["title"]

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return title(*args, **kwargs)

    monkeypatch.setitem(render._env.filters, "title", spy)
    source = "{{ 'ab ' | center(160)" + " | title" * 5 + " | length }} <- folded?"
    assert template_syntax_error(source) is None
    assert undeclared(source) == set()
    assert calls == []
    sink: list[Diagnostic] = []
    assert Renderer({}, sink=sink).text(source, "w") == "160 <- folded?"  # run time: it works
    assert len(calls) == 5
