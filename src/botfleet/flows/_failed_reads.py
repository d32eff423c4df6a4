"""Reads of a `{continue: true}` call's `failed` that go missing after an answer. Pure.

An `invoke_connector` with `on_error: {continue: true}` stores `{failed: true, error}` under its
`result_key` when the call fails, and the connector's answer when it does not, which has no
`failed` (a list, or a mapping of its own): `data.slots.failed` is then a missing value. The
renderer counts one where it is printed, and in a condition also where it is tested or compared
(`render._RecordingUndefined`): a warning each turn, an error under strict templates. Reads it
does not count are left alone: `is defined` and `default(...)` look at the type, a template's
`{% if %}` or `x if ... else y` tests quietly, and a read behind `... is defined and` never
meets a missing value. The fix is `data.slots.failed is defined`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from jinja2 import nodes

from botfleet.flows._spec_walk import iter_actions
from botfleet.flows.render import parse_tree
from botfleet.flows.schema import ErrorRoute, FlowSpec, InvokeConnector

#: A name and the attributes or literal subscripts read from it: ("data", "slots", "failed").
_Path = tuple[str, ...]
_FLAG = "failed"
#: A child node, whether a missing value there is counted, the paths known to be there, and
#: whether it is the operand of a `not`.
_Child = tuple[nodes.Node, bool, frozenset[_Path], bool]
_NONE: frozenset[_Path] = frozenset()
#: Tests that look at whether a value is there (`default` filters do too), and whether it is.
_DEFINED_TESTS = {"defined": True, "undefined": False}
#: Filters that print their operand, and those that measure it (counted in a condition only).
_PRINTING_FILTERS = frozenset({"string"})
_MEASURING_FILTERS = frozenset({"length", "count"})


@dataclass(frozen=True, slots=True)
class FailedRead:
    """A counted read of `data.<key>.failed`: `key` is the `result_key`; `negated` when the
    read is the operand of a `not` (the fix is then `is not defined`)."""

    key: str
    negated: bool


def continue_result_keys(spec: FlowSpec) -> dict[str, str]:
    """`result_key` -> the path of the first `invoke_connector` with `on_error: {continue:
    true}` that stores its result there."""
    keys: dict[str, str] = {}
    for path, action in iter_actions(spec):
        if (
            isinstance(action, InvokeConnector)
            and action.result_key
            and isinstance(action.on_error, ErrorRoute)
            and action.on_error.continue_
        ):
            keys.setdefault(action.result_key, path)
    return keys


def failed_reads(source: str, keys: Mapping[str, str], *, expression: bool) -> list[FailedRead]:
    """The reads of `data.<key>.failed` in `source` (a condition, with `expression`) that a
    successful answer makes a counted missing value, once each, in order; `<key>` among `keys`.
    """
    tree = parse_tree(source, expression=expression)
    if tree is None or not keys:
        return []
    walk = _Walk(frozenset(keys), condition=expression)
    try:
        walk.visit(tree, counted=expression, defined=frozenset())
    except RecursionError:  # deeper than the compiler lets through; nothing to say then
        return []
    return list(dict.fromkeys(walk.found))


def describe(read: FailedRead, call: str) -> str:
    """The warning for `read`, `call` being the path of the call that stores its key."""
    flag = f"data.{read.key}.{_FLAG}"
    fix = f"'{flag} is not defined' for 'not {flag}'" if read.negated else f"'{flag} is defined'"
    return (
        f"{flag} is missing after a successful answer (only a failure of {call}, with "
        f"on_error: {{continue: true}}, stores {_FLAG}): a warning each turn, an error under "
        f"strict templates; write {fix}"
    )


def _path_of(node: nodes.Node) -> _Path | None:
    """`a.b['c']` as ("a", "b", "c"), when `node` is only a name and attribute or literal
    subscript lookups."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            parts.append(node.arg.value)
        else:
            break
        node = node.node
    if not isinstance(node, nodes.Name) or node.ctx != "load":
        return None
    return (node.name, *reversed(parts))


def _implied(node: nodes.Node, truthy: bool) -> frozenset[_Path]:
    """The paths known to be there when `node` is `truthy` (or falsy): `p is defined`,
    `p is undefined` (falsy), `not ...`, and `and` (truthy) or `or` (falsy) of those."""
    if isinstance(node, nodes.Test) and node.name in _DEFINED_TESTS:
        path = _path_of(node.node)
        there = _DEFINED_TESTS[node.name] == truthy
        return frozenset({path}) if path is not None and there else frozenset()
    if isinstance(node, nodes.Not):
        return _implied(node.node, not truthy)
    if (isinstance(node, nodes.And) and truthy) or (isinstance(node, nodes.Or) and not truthy):
        return _implied(node.left, truthy) | _implied(node.right, truthy)
    return frozenset()


class _Walk:
    """Finds the counted reads: `counted` says whether a missing value where a node stands
    would be counted, `defined` the paths a guard above it has shown to be there."""

    def __init__(self, keys: frozenset[str], *, condition: bool) -> None:
        self.keys = keys
        # In a template, testing and comparing a missing value is quiet; printing never is.
        self.tested = condition
        self.found: list[FailedRead] = []

    def visit(
        self, node: nodes.Node, *, counted: bool, defined: frozenset[_Path], negated: bool = False
    ) -> None:
        path = _path_of(node)
        if path is not None:
            key = self._key_of(path)
            if key is not None and counted and path not in defined:
                self.found.append(FailedRead(key, negated))
            return  # the lookups inside a path read nothing more
        for child, child_counted, child_defined, child_negated in self._children(node, counted):
            self.visit(
                child,
                counted=child_counted,
                defined=defined | child_defined,
                negated=child_negated,
            )

    def _key_of(self, path: _Path) -> str | None:
        if len(path) < 3 or path[0] != "data" or path[-1] != _FLAG:
            return None
        key = ".".join(path[1:-1])  # `data.booking.slots` and `data['booking.slots']` alike
        return key if key in self.keys else None

    def _children(self, node: nodes.Node, counted: bool) -> Iterator[_Child]:
        """Each child with whether it is counted, the paths known there, and whether it is
        negated."""
        tested = self.tested
        if isinstance(node, nodes.Output):
            yield from ((child, True, _NONE, False) for child in node.nodes)
        elif isinstance(node, nodes.If):
            yield node.test, tested, _NONE, False
            yield from ((child, False, _implied(node.test, True), False) for child in node.body)
            for child in [*node.elif_, *node.else_]:
                yield child, False, _implied(node.test, False), False
        elif isinstance(node, nodes.CondExpr | nodes.Not | nodes.And | nodes.Or):
            yield from _logic_children(node, counted, tested)
        elif isinstance(node, nodes.Compare):
            for child in [node.expr, *(operand.expr for operand in node.ops)]:
                yield child, tested, _NONE, False
        elif isinstance(node, nodes.Concat):
            yield from ((child, True, _NONE, False) for child in node.nodes)
        elif isinstance(node, nodes.Test) and node.name in _DEFINED_TESTS:
            return  # looks at the type only
        elif isinstance(node, nodes.Filter) and node.node is not None:
            yield node.node, _filter_counts(node.name, tested), _NONE, False
            for child in node.iter_child_nodes(exclude=("node",)):
                yield child, False, _NONE, False
        else:
            yield from ((child, False, _NONE, False) for child in node.iter_child_nodes())


def _logic_children(
    node: nodes.CondExpr | nodes.Not | nodes.And | nodes.Or, counted: bool, tested: bool
) -> Iterator[_Child]:
    if isinstance(node, nodes.CondExpr):
        yield node.test, tested, _NONE, False
        yield node.expr1, counted, _implied(node.test, True), False
        if node.expr2 is not None:
            yield node.expr2, counted, _implied(node.test, False), False
    elif isinstance(node, nodes.Not):
        yield node.node, tested, _NONE, True
    elif isinstance(node, nodes.And):
        # A missing left operand is also the result: the parent's use counts too.
        yield node.left, tested or counted, _NONE, False
        yield node.right, counted, _implied(node.left, True), False
    else:
        yield node.left, tested, _NONE, False
        yield node.right, counted, _implied(node.left, False), False


def _filter_counts(name: str, tested: bool) -> bool:
    """Whether a missing value through filter `name` is counted (never through `default`)."""
    return name in _PRINTING_FILTERS or (tested and name in _MEASURING_FILTERS)
