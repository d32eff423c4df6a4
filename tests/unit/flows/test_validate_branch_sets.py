"""Names a template sets inside `{% if %}` branches, as the validator reads them: known
wherever the sandbox renders what was set on some turn, unknown where it renders a missing
value on every turn (`flows/_branch_scopes.py`)."""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest
from jinja2 import nodes

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows._branch_scopes import MAX_SCOPED_IFS
from botfleet.flows.effects import Diagnostic
from botfleet.flows.load import load_flow_text
from botfleet.flows.render import Renderer, parse_checked, undeclared_in

# Each reads `h` (or what it names) as `[{{ h }}]`: "[1]" is the set value, "[]" a missing one.
KNOWN = {
    "set then read in the branch": "{% if data.x %}{% set h = 1 %}[{{ h }}]{% endif %}",
    "read after the endif": "{% if data.x %}{% set h = 1 %}{% endif %}[{{ h }}]",
    "set in both branches": "{% if data.x %}{% set h = 1 %}{% else %}{% set h = 2 %}{% endif %}"
    "[{{ h }}]",
    "set in an elif": "{% if data.x %}{% elif data.y %}{% set h = 1 %}[{{ h }}]{% endif %}",
    "set in an else": "{% if data.x %}{% else %}{% set h = 1 %}[{{ h }}]{% endif %}",
    "read in a later if": "{% if data.x %}{% set h = 1 %}{% endif %}{% if data.y %}[{{ h }}]"
    "{% endif %}",
    "a set block": "{% if data.x %}{% set h %}1{% endset %}[{{ h }}]{% endif %}",
    "a nested if": "{% if data.x %}{% if data.y %}{% set h = 1 %}{% endif %}[{{ h }}]{% endif %}",
    "a macro": "{% if data.x %}{% macro h() %}1{% endmacro %}[{{ h() }}]{% endif %}",
    "a macro's parameter": "{% macro m(p) %}{% if p %}{% set h = p %}[{{ h }}]{% endif %}"
    "{% endmacro %}{{ m(1) }}",
    "a loop's variable": "{% for i in [1] %}{% if i %}{% set h = i %}[{{ h }}]"
    "{{ loop.index }}{% endif %}{% endfor %}",
    "a later loop pass": "{% for i in [1, 2] %}{% if loop.first %}{% set h = i %}{% endif %}"
    "[{{ h }}]{% endfor %}",
    "a with block": "{% if data.x %}{% with a = 1 %}{% if a %}{% set h = a %}{% endif %}"
    "[{{ h }}]{% endwith %}{% endif %}",
    "in a set block": "{% set z %}{% if data.x %}{% set h = 1 %}{% endif %}[{{ h }}]{% endset %}"
    "{{ z }}",
    "several names at once": "{% if data.x %}{% set g, h = 0, 1 %}{% endif %}{{ g }}[{{ h }}]",
}
UNKNOWN = {
    "read before its set in the branch": "{% if data.x %}[{{ h }}]{% set h = 1 %}{% endif %}",
    "read before the if": "[{{ h }}]{% if data.x %}{% set h = 1 %}{% endif %}",
    "read in another branch": "{% if data.x %}{% set h = 1 %}{% else %}[{{ h }}]{% endif %}",
    "read in a later elif": "{% if data.x %}{% elif data.y %}{% set h = 1 %}{% else %}[{{ h }}]"
    "{% endif %}",
    "read by an elif's test": "{% if data.x %}{% set h = 1 %}{% elif h %}{% else %}[{{ h }}]"
    "{% endif %}",
    "set in a loop, read after it": "{% if data.x %}{% for i in [1] %}{% set h = 1 %}"
    "{% endfor %}[{{ h }}]{% endif %}",
    "set in a with block, read after it": "{% if data.x %}{% with a = 1 %}{% set h = a %}"
    "{% endwith %}[{{ h }}]{% endif %}",
    "read before its set in a loop": "{% for i in [1, 2] %}[{{ h }}]{% if data.x %}"
    "{% set h = 1 %}{% endif %}{% endfor %}",
}
TURNS = [{"x": x, "y": y} for x, y in product((0, 1), repeat=2)]


def rendered(source: str) -> set[str]:
    """What the sandbox renders `source` as, on turns that take each branch."""
    sink: list[Diagnostic] = []
    return {Renderer({"data": data}, sink=sink).text(source, "w") for data in TURNS}


def flow_with(text: str) -> str:
    return (
        "id: t\ninitial_state: A\nstates:\n  A:\n    on_enter:\n"
        f"      - {{action: send_text, text: {text!r}}}\n"
        "    fallback: A\n"
    )


def errors_of(text: str) -> list[str]:
    issues: list[FlowIssue]
    try:
        issues = list(load_flow_text(flow_with(text), "t.yaml").warnings)
    except FlowValidationError as exc:
        issues = list(exc.issues)
    return [issue.message for issue in issues if issue.severity == "error"]


@pytest.mark.parametrize("source", KNOWN.values(), ids=KNOWN.keys())
def test_a_name_set_in_a_branch_is_known_where_jinja_gives_it(source: str) -> None:
    assert any("[1]" in text for text in rendered(source))  # some turn reads what was set
    assert errors_of(source) == []


@pytest.mark.parametrize("source", UNKNOWN.values(), ids=UNKNOWN.keys())
def test_a_name_read_where_no_set_reaches_is_still_unknown(source: str) -> None:
    assert not any("[1]" in text for text in rendered(source))  # missing at every turn
    [message] = errors_of(source)
    assert message.startswith("unknown name 'h': templates and conditions read data, ")


def test_the_reported_walk_through_flow_loads() -> None:
    assert errors_of("{% if data.x %}{% set h = 1 %}{{ h }}{% endif %}") == []


def test_a_misspelled_name_next_to_a_branch_set_is_still_reported() -> None:
    source = "{% if data.x %}{% set total = 1 %}{% endif %}{{ totl }}{{ dta.vip }}"
    assert undeclared_in(_tree(source)) == {"data", "totl", "dta"}


def test_past_the_most_scoped_ifs_a_branch_set_is_reported_as_before() -> None:
    # Each such `{% if %}` nests what follows one scope deeper: a bounded walk, no crash.
    many = "".join(
        f"{{% if data.x %}}{{% set h{i} = 1 %}}{{% endif %}}{{{{ h{i} }}}}"
        for i in range(MAX_SCOPED_IFS + 1)
    )
    assert undeclared_in(_tree(many)) == {"data", *(f"h{i}" for i in range(MAX_SCOPED_IFS + 1))}
    fewer = many.split("{% if", MAX_SCOPED_IFS + 1)
    within = "{% if".join(fewer[:-1])
    assert undeclared_in(_tree(within)) == {"data"}


def test_the_parsed_tree_is_left_as_it_was() -> None:
    # The validator parses each source once and runs every check on that one tree.
    tree = _tree(KNOWN["a nested if"] + KNOWN["a with block"])
    before = _snapshot(tree)
    assert undeclared_in(tree) == {"data"}
    assert _snapshot(tree) == before


def _tree(source: str) -> nodes.Node:
    tree = parse_checked(source).tree
    assert tree is not None
    return tree


def _snapshot(tree: nodes.Node) -> list[tuple[int, dict[str, Any]]]:
    found = [tree, *tree.find_all(nodes.Node)]
    return [
        (id(node), {k: list(v) if isinstance(v, list) else v for k, v in vars(node).items()})
        for node in found
    ]
