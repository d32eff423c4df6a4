"""Reads of a `{continue: true}` call's `failed` or `error` that go missing after an answer. Pure.

An `invoke_connector` with `on_error: {continue: true}` stores `{failed: true, error}` under its
`result_key` when the call fails, and the connector's answer when it does not, which has neither
(a list, or a mapping of its own): `data.slots.failed` and `data.slots.error` are then missing
values. The renderer counts one where it is printed (also through a filter that prints, `upper`),
and in a condition also where it is tested, compared or measured (`render._RecordingUndefined`):
a warning each turn, an error under strict templates. Reads it does not count are left alone:
`is defined` and `default(...)` look at the type, a template's `{% if %}` or `x if ... else y`
tests quietly, and a read behind `... is defined and` never meets a missing value; the two are
stored together, so a guard on either covers both. Reads through `{% set r = data.slots %}` are
followed too. The fix is `data.slots.failed is defined` (or `data.slots.error | default('')`).
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
#: What a failure stores, and an answer does not.
_FIELDS = (_FLAG, "error")
#: A child node, whether a missing value there is counted, the paths known to be there, and
#: whether it is the operand of a `not`.
_Child = tuple[nodes.Node, bool, frozenset[_Path], bool]
_NONE: frozenset[_Path] = frozenset()
#: Tests that look at whether a value is there (`default` filters do too), and whether it is.
_DEFINED_TESTS = {"defined": True, "undefined": False}
#: Filters and tests that print their operand (counted anywhere), and those that compare,
#: iterate or measure it (counted in a condition only), as the renderer runs them.
_PRINTING_FILTERS = frozenset(
    {"capitalize", "center", "e", "escape", "forceescape", "format", "lower", "replace", "safe"}
    | {"string", "striptags", "title", "trim", "truncate", "upper", "urlize", "wordcount"}
)
_MEASURING_FILTERS = frozenset(
    {"count", "first", "join", "last", "length", "list", "max", "min", "reverse", "sort", "sum"}
    | {"urlencode"}
)
_PRINTING_TESTS = frozenset({"lower", "upper"})
_COMPARING_TESTS = frozenset(
    {"eq", "equalto", "ne", "lt", "lessthan", "le", "gt", "greaterthan", "ge", "in"}
    | {"iterable", "sequence"}
)


@dataclass(frozen=True, slots=True)
class FailedRead:
    """A counted read of `data.<key>.<field>` (`failed` or `error`): `key` is the
    `result_key`; `negated` when the read is the operand of a `not` (the fix for `not
    data.<key>.failed` is then `is not defined`)."""

    key: str
    field: str
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
    """The reads of `data.<key>.failed` and `data.<key>.error` in `source` (a condition, with
    `expression`) that a successful answer makes a counted missing value, once each, in order;
    `<key>` among `keys`.
    """
    tree = parse_tree(source, expression=expression) if keys else None
    return [] if tree is None else failed_reads_in(tree, keys, expression=expression)


def failed_reads_in(
    tree: nodes.Node, keys: Mapping[str, str], *, expression: bool
) -> list[FailedRead]:
    """`failed_reads` of a tree from `render.parse_tree` (or `parse_checked`), only read."""
    if not keys:
        return []
    walk = _Walk(frozenset(keys), condition=expression)
    try:
        walk.visit(tree, counted=expression, defined=frozenset())
    except RecursionError:  # deeper than the compiler lets through; nothing to say then
        return []
    return list(dict.fromkeys(walk.found))


def describe(read: FailedRead, call: str) -> str:
    """The warning for `read`, `call` being the path of the call that stores its key."""
    value = f"data.{read.key}.{read.field}"
    flag = f"data.{read.key}.{_FLAG}"
    if read.field != _FLAG:
        # An `x if ... is defined` without `else` is itself a missing value where printed.
        fix = f"\"{value} | default('')\" or read it only when '{flag} is defined'"
    elif read.negated:
        fix = f"'{flag} is not defined' for 'not {flag}'"
    else:
        fix = f"'{flag} is defined'"
    return (
        f"{value} is missing after a successful answer (only a failure of {call}, with "
        f"on_error: {{continue: true}}, stores {read.field}): a warning each turn, an error "
        f"under strict templates; write {fix}"
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


class _Walk:
    """Finds the counted reads: `counted` says whether a missing value where a node stands
    would be counted, `defined` the paths a guard above it has shown to be there."""

    def __init__(self, keys: frozenset[str], *, condition: bool) -> None:
        self.keys = keys
        # In a template, testing and comparing a missing value is quiet; printing never is.
        self.tested = condition
        self.found: list[FailedRead] = []
        #: `{% set r = data.slots %}`: "r" -> ("data", "slots"), until `r` is bound again.
        self.aliases: dict[str, _Path] = {}

    def visit(
        self, node: nodes.Node, *, counted: bool, defined: frozenset[_Path], negated: bool = False
    ) -> None:
        path = self._resolve(node)
        if path is not None:
            read = self._read_of(path, negated)
            if read is not None and counted and not self._guarded(read, defined):
                self.found.append(read)
            return  # the lookups inside a path read nothing more
        if isinstance(node, nodes.Name):  # bound again by a `set`, a `for`, a `with`...
            self.aliases.pop(node.name, None)
        for child, child_counted, child_defined, child_negated in self._children(node, counted):
            self.visit(
                child,
                counted=child_counted,
                defined=defined | child_defined,
                negated=child_negated,
            )
        if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
            value = self._resolve(node.node)
            if value is not None and value[0] == "data":
                self.aliases[node.target.name] = value

    def _resolve(self, node: nodes.Node) -> _Path | None:
        """The path `node` reads, through an alias, with a result key as one part:
        `data.booking.slots.error` and `data['booking.slots'].error` alike."""
        path = _path_of(node)
        if path is None:
            return None
        alias = self.aliases.get(path[0])
        if alias is not None:
            path = (*alias, *path[1:])
        if len(path) < 3 or path[0] != "data":
            return path
        return ("data", ".".join(path[1:-1]), path[-1])

    def _read_of(self, path: _Path, negated: bool) -> FailedRead | None:
        if len(path) != 3 or path[0] != "data" or path[2] not in _FIELDS:
            return None
        return FailedRead(path[1], path[2], negated) if path[1] in self.keys else None

    @staticmethod
    def _guarded(read: FailedRead, defined: frozenset[_Path]) -> bool:
        # Stored together: a guard on either field shows the other is there too.
        return any(("data", read.key, field) in defined for field in _FIELDS)

    def _implied(self, node: nodes.Node, truthy: bool) -> frozenset[_Path]:
        """The paths known to be there when `node` is `truthy` (or falsy): `p is defined`,
        `p is undefined` (falsy), `not ...`, and `and` (truthy) or `or` (falsy) of those."""
        if isinstance(node, nodes.Test) and node.name in _DEFINED_TESTS:
            path = self._resolve(node.node)
            there = _DEFINED_TESTS[node.name] == truthy
            return frozenset({path}) if path is not None and there else frozenset()
        if isinstance(node, nodes.Not):
            return self._implied(node.node, not truthy)
        if (isinstance(node, nodes.And) and truthy) or (isinstance(node, nodes.Or) and not truthy):
            return self._implied(node.left, truthy) | self._implied(node.right, truthy)
        return frozenset()

    def _children(self, node: nodes.Node, counted: bool) -> Iterator[_Child]:
        """Each child with whether it is counted, the paths known there, and whether it is
        negated."""
        tested = self.tested
        if isinstance(node, nodes.Output):
            yield from ((child, True, _NONE, False) for child in node.nodes)
        elif isinstance(node, nodes.If):
            yield node.test, tested, _NONE, False
            # After the `set`s before the `if`, and before those of its branches.
            body, other = self._implied(node.test, True), self._implied(node.test, False)
            yield from ((child, False, body, False) for child in node.body)
            yield from ((child, False, other, False) for child in [*node.elif_, *node.else_])
        elif isinstance(node, nodes.CondExpr | nodes.Not | nodes.And | nodes.Or):
            yield from self._logic_children(node, counted)
        elif isinstance(node, nodes.Compare):
            for child in [node.expr, *(operand.expr for operand in node.ops)]:
                yield child, tested, _NONE, False
        elif isinstance(node, nodes.Concat):
            yield from ((child, True, _NONE, False) for child in node.nodes)
        elif isinstance(node, nodes.Test) and node.name in _DEFINED_TESTS:
            return  # looks at the type only
        elif isinstance(node, nodes.Filter | nodes.Test) and node.node is not None:
            yield node.node, _operand_counts(node, tested), _NONE, False
            # `x is eq y` compares `y` too; `'%s' | format(y)` prints it.
            args_counted = _args_count(node, tested)
            for arg in node.iter_child_nodes(exclude=("node",)):
                yield arg, args_counted, _NONE, False
        else:
            yield from ((child, False, _NONE, False) for child in node.iter_child_nodes())

    def _logic_children(
        self, node: nodes.CondExpr | nodes.Not | nodes.And | nodes.Or, counted: bool
    ) -> Iterator[_Child]:
        tested = self.tested
        if isinstance(node, nodes.CondExpr):
            yield node.test, tested, _NONE, False
            yield node.expr1, counted, self._implied(node.test, True), False
            if node.expr2 is not None:
                yield node.expr2, counted, self._implied(node.test, False), False
        elif isinstance(node, nodes.Not):
            yield node.node, tested, _NONE, True
        elif isinstance(node, nodes.And):
            # A missing left operand is also the result: the parent's use counts too.
            yield node.left, tested or counted, _NONE, False
            yield node.right, counted, self._implied(node.left, True), False
        else:
            yield node.left, tested, _NONE, False
            yield node.right, counted, self._implied(node.left, False), False


def _operand_counts(node: nodes.Filter | nodes.Test, tested: bool) -> bool:
    """Whether a missing value through filter or test `node` is counted (never `default`)."""
    if isinstance(node, nodes.Filter):
        printing, measuring = _PRINTING_FILTERS, _MEASURING_FILTERS
    else:
        printing, measuring = _PRINTING_TESTS, _COMPARING_TESTS
    return node.name in printing or (tested and node.name in measuring)


def _args_count(node: nodes.Filter | nodes.Test, tested: bool) -> bool:
    if isinstance(node, nodes.Filter):
        return node.name == "format"
    return tested and node.name in _COMPARING_TESTS - {"iterable", "sequence"}
