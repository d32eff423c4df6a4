"""Conditions whose value no turn can change ("true", "data.lang or true", "1 == 2"). Pure.

A transition's `condition: "true"` written as a catch-all shadows every transition after it as
one without a condition does, and a condition that is always false never lets its transition
fire; both are slips the validator warns about (flow-dsl.md, "What the validator checks").
Only what Jinja would compute the same on every turn counts: literals, and `not`, `and`, `or`
and comparisons of plain literals (`x or true` is true whatever `x` is; `x and false` false;
`1 == 2`); nothing is computed (no arithmetic, filter or call, which only the renderer's
sandbox may run). Parsed as the condition checks parse it (`render.parse_checked`).
"""

from __future__ import annotations

from jinja2 import nodes

from botfleet.flows._template_checks import condition_expression
from botfleet.flows.render import parse_checked


def constant_truth(condition: str) -> bool | None:
    """Whether `condition` is always true or always false, None when a turn decides (or it does
    not parse, or nests too deeply: its own check reports that)."""
    parsed = parse_checked(condition_expression(condition), expression=True)
    if parsed.error is not None or parsed.tree is None:
        return None
    try:
        return _truth(parsed.tree)
    except RecursionError:  # thousands of `or` the parse let through
        return None


def _truth(node: nodes.Node) -> bool | None:
    if isinstance(node, nodes.Const):
        return bool(node.value)
    if isinstance(node, nodes.List | nodes.Tuple | nodes.Dict):
        return bool(node.items)  # a literal with items is true whatever the items are
    if isinstance(node, nodes.Not):
        inner = _truth(node.node)
        return None if inner is None else not inner
    if isinstance(node, nodes.Or | nodes.And):
        left, right = _truth(node.left), _truth(node.right)
        decides = isinstance(node, nodes.Or)  # true decides an `or`, false an `and`
        if decides in (left, right):
            return decides
        return None if left is None or right is None else not decides
    if isinstance(node, nodes.Compare) and node.environment and _literals_only(node):
        try:
            return bool(node.as_const(nodes.EvalContext(node.environment)))
        except (nodes.Impossible, TypeError, ValueError):
            return None
    return None


def _literals_only(node: nodes.Compare) -> bool:
    """A comparison of plain literals (`1 == 2`): nothing is computed to fold it. Arithmetic,
    filters and calls are left alone: folded here they would run outside the sandbox's limits
    (`10**10000000 == 1`)."""
    operands = [node.expr, *(operand.expr for operand in node.ops)]
    return all(isinstance(operand, nodes.Const) for operand in operands)
