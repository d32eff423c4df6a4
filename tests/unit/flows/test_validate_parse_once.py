"""The validator parses each distinct template and condition once, and its checks only read the
tree: the syntax check, the unknown names and the `failed`/`error` reads find what each finds on
a tree of its own, and a text the flow repeats is reported wherever it stands.
"""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import nodes

from botfleet.domain.errors import FlowValidationError
from botfleet.flows import render
from botfleet.flows._failed_reads import failed_reads_in
from botfleet.flows.load import load_flow_text
from botfleet.flows.render import (
    condition_syntax_error,
    parse_checked,
    template_syntax_error,
    undeclared_in,
)

KEYS = {"slots": "states.A.on_enter[0]"}
TEMPLATE = "Hi {{ contact.name }}: {{ data.slots.failed }} {{ dta.vip }}"
CONDITION = "data.slots.error == 'x' and not data.slots.failed"
FLOW = f"""\
id: t
initial_state: A
states:
  A:
    on_enter:
      - action: invoke_connector
        connector: calendar
        operation: list_appointments
        result_key: slots
        on_error: {{continue: true}}
      - action: send_text
        when: "{CONDITION}"
        text: "{TEMPLATE}"
      - action: send_text
        when: "{CONDITION}"
        text: "{TEMPLATE}"
    fallback: A
"""

SOURCES = [
    (TEMPLATE, False),
    (CONDITION, True),
    ("{% set r = data.slots %}{{ r.error | upper }}{% for s in r %}{{ s }}{% endfor %}", False),
    ("{% if data.slots.failed is defined %}{{ data.slots.error }}{% endif %}", False),
    ("data.slots.failed | length > 0", True),
    ("(data.slots.failed", True),
    ("data.x is nosuchtest", True),
    ("{{ data.x | nosuchfilter }}", False),
    ("{% if data.x %}{{ y | lenght }}{% endif %}", False),
    ("{{ data.x }", False),
]


def test_each_distinct_source_of_a_flow_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[tuple[str, bool]] = []
    parse, parse_expression = render._env.parse, render._parse_expression

    def counting(source: str, *args: Any) -> nodes.Template:
        parsed.append((source, False))
        return parse(source, *args)

    def counting_expression(source: str) -> nodes.Expr:
        parsed.append((source, True))
        return parse_expression(source)

    monkeypatch.setattr(render._env, "parse", counting)
    monkeypatch.setattr(render, "_parse_expression", counting_expression)
    warnings = load_flow_text(FLOW.replace("dta.vip", "data.vip"), "t.yaml").warnings
    # The compiling the renderer caches parses on its own (`Environment._parse`), not counted.
    assert sorted(parsed) == sorted({(TEMPLATE.replace("dta", "data"), False), (CONDITION, True)})
    # Both places are still reported, each on its own line: 2 reads in each of 2 conditions,
    # 1 in each of 2 templates.
    assert sorted(w.line for w in warnings if "successful answer" in w.message) == [12] * 2 + [
        13
    ] + [15] * 2 + [16]


def test_a_repeated_broken_template_is_an_error_at_each_place() -> None:
    with pytest.raises(FlowValidationError) as caught:
        load_flow_text(FLOW, "t.yaml")
    unknown = [i for i in caught.value.issues if "unknown name 'dta'" in i.message]
    assert [(i.line, i.path) for i in unknown] == [
        (13, "states.A.on_enter[1].text"),
        (16, "states.A.on_enter[2].text"),
    ]


@pytest.mark.parametrize(("source", "expression"), SOURCES)
def test_one_tree_gives_what_a_tree_each_gave(source: str, expression: bool) -> None:
    checked = parse_checked(source, expression=expression)
    error_of = condition_syntax_error if expression else template_syntax_error
    assert checked.error == error_of(source)
    if checked.tree is None:
        return
    # Each check on a tree of its own, then both on the one tree, the other first.
    names = undeclared_in(_tree(source, expression))
    reads = failed_reads_in(_tree(source, expression), KEYS, expression=expression)
    assert failed_reads_in(checked.tree, KEYS, expression=expression) == reads
    assert undeclared_in(checked.tree) == names


def _tree(source: str, expression: bool) -> nodes.Node:
    tree = parse_checked(source, expression=expression).tree
    assert tree is not None
    return tree


def _snapshot(tree: nodes.Node) -> list[tuple[int, dict[str, Any]]]:
    """Every node of `tree` with a copy of its fields and attributes (lists copied too)."""
    found = [tree, *tree.find_all(nodes.Node)]
    return [
        (id(node), {k: list(v) if isinstance(v, list) else v for k, v in vars(node).items()})
        for node in found
    ]


@pytest.mark.parametrize(
    ("source", "expression"),
    [(s, e) for s, e in SOURCES if parse_checked(s, expression=e).tree is not None],
)
def test_the_checks_leave_the_tree_as_it_was(source: str, expression: bool) -> None:
    tree = parse_checked(source, expression=expression).tree
    assert tree is not None
    before = _snapshot(tree)
    assert all(node.environment is render._env for node in (tree, *tree.find_all(nodes.Node)))
    undeclared_in(tree)
    failed_reads_in(tree, KEYS, expression=expression)
    parse_checked(source, expression=expression)
    assert _snapshot(tree) == before
