"""Reads of a `{continue: true}` call's `failed` or `error` that go missing after an answer. Pure.

An `invoke_connector` with `on_error: {continue: true}` stores `{failed: true, error}` under its
`result_key` when the call fails, and the connector's answer when it does not, which has neither
(a list, or a mapping of its own): `data.slots.failed` and `data.slots.error` are then missing
values. The renderer counts one where it is printed (also through a filter that prints, `upper`),
and in a condition also where it is tested, compared or measured (`render._RecordingUndefined`):
a warning each turn, an error under strict templates. Reads it does not count are left alone:
`is defined` and `default(...)` look at the type, a template's `{% if %}` or `x if ... else y`
tests quietly, and a read behind `... is defined and` never meets a missing value; the two are
stored together, so a guard on either covers both. A value put into a string (`~`, `'%s' %`,
`'{}'.format()`, a printing filter) is printed; arithmetic on a missing value, or calling a method
of it, fails the template each turn. Reads through a name bound to the result or to the field
(`{% set r = data.slots %}`, `{% with r = ... %}`) are followed, for as long as the name is: a
`for`, a `with`, a macro or a filter block keeps the names it binds to itself, as Jinja does. A
loop over the result is not such a read: its items are the answer's (or, after a failure, the
names `failed` and `error`), never the result. The fix is `data.slots.failed is defined` (or
`data.slots.error | default('')`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from jinja2 import nodes

from botfleet.flows._spec_walk import iter_actions
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
#: Tests that compare their argument too (`x is eq y`).
_COMPARED_ARGUMENTS = _COMPARING_TESTS - {"iterable", "sequence"}
#: Operators Jinja's `Undefined` refuses (a template failure each turn); And, Or and Not test.
_ARITHMETIC = (nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Pow)
_SIGNS = (nodes.Neg, nodes.Pos)
#: Nodes `_operation_children` knows.
_OPERATIONS = (nodes.Mod, *_ARITHMETIC, *_SIGNS, nodes.Call, nodes.Getattr, nodes.Getitem)
#: Blocks whose `set`s, loop variables and arguments end with them.
_SCOPES = (
    nodes.For,
    nodes.With,
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.Block,
    nodes.ScopedEvalContextModifier,
)
#: A `%` conversion: an optional `(key)`, flags, width, precision, length, and its type.
_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<kind>.)", re.S
)
#: A `str.format` field's lookups after its argument: `.error`, `[error]` (`[0]` an index).
_FIELD_LOOKUP = re.compile(r"\.([^.[]+)|\[([^\]]+)\]")
#: Conversions that show a value's `repr` (`%r`, `{!r}`): a missing value's is quiet.
_REPR = frozenset({"r", "a"})


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


def failed_reads_in(
    tree: nodes.Node, keys: Mapping[str, str], *, expression: bool
) -> list[FailedRead]:
    """The reads of `data.<key>.failed` and `data.<key>.error` in `tree` (a condition's, with
    `expression`; from `render.parse_checked`, only read) that a successful answer makes a
    counted missing value, once each, in order; `<key>` among `keys`."""
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
    would be counted, `defined` the reads a guard above it has shown to be there."""

    def __init__(self, keys: frozenset[str], *, condition: bool) -> None:
        self.keys = keys
        # In a template, testing and comparing a missing value is quiet; printing never is.
        self.tested = condition
        self.found: list[FailedRead] = []
        #: `{% set r = data.slots %}`: "r" -> ("data", "slots"), while `r` is bound to it.
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
            return
        if isinstance(node, _SCOPES):
            self._visit_scope(node, defined)
            return
        # Seen before the targets are bound again: `{% set r = r.booking %}`.
        bound = self._bindings(node.target, node.node) if isinstance(node, nodes.Assign) else []
        for child, child_counted, child_defined, child_negated in self._children(node, counted):
            self.visit(
                child,
                counted=child_counted,
                defined=defined | child_defined,
                negated=child_negated,
            )
        self.aliases.update(bound)

    def _visit_all(self, children: Iterable[nodes.Node], defined: frozenset[_Path]) -> None:
        for child in children:
            self.visit(child, counted=False, defined=defined)

    def _visit_scope(self, node: nodes.Node, defined: frozenset[_Path]) -> None:
        """A block whose own names (its `set`s, a `with`'s or a loop's variables, a macro's
        arguments) end with it, as in Jinja: the outer names are as they were after it."""
        outer = dict(self.aliases)
        if isinstance(node, nodes.With):
            # The values are read with the outer names: `{% with r = r.booking %}`.
            bound = [
                alias
                for target, value in zip(node.targets, node.values, strict=True)
                for alias in self._bindings(target, value)
            ]
            self._visit_all([*node.values, *node.targets], defined)
            self.aliases.update(bound)
            self._visit_all(node.body, defined)
        elif isinstance(node, nodes.For):
            # Its items are the answer's, never the result: the variable is only bound again.
            self._visit_all([node.iter, node.target], defined)
            self._visit_all([*([] if node.test is None else [node.test]), *node.body], defined)
            self.aliases = dict(outer)  # `else` has a scope of its own, without the variable
            self._visit_all(node.else_, defined)
        else:
            self._visit_all(node.iter_child_nodes(), defined)
        self.aliases = outer

    def _bindings(self, target: nodes.Node, value: nodes.Node) -> list[tuple[str, _Path]]:
        """The aliases `target = value` makes: a name bound to a value under `data`, or each
        name of `a, b = x, y` to its own."""
        if isinstance(target, nodes.Tuple):
            if not isinstance(value, nodes.Tuple | nodes.List):
                return []
            if len(value.items) != len(target.items):
                return []
            pairs = zip(target.items, value.items, strict=True)
            return [
                alias for item, item_value in pairs for alias in self._bindings(item, item_value)
            ]
        path = self._resolve(value)
        if not isinstance(target, nodes.Name) or path is None or path[0] != "data":
            return []
        return [(target.name, path)]

    def _resolve(self, node: nodes.Node) -> _Path | None:
        """The path `node` reads, through an alias."""
        path = _path_of(node)
        if path is None:
            return None
        alias = self.aliases.get(path[0])
        return path if alias is None else (*alias, *path[1:])

    def _read_of(self, path: _Path, negated: bool) -> FailedRead | None:
        """The read `path` makes, with a result key as one part or several
        (`data.booking.slots.error`, `data['booking.slots'].error`), and maybe lookups after
        it (`data.slots.error.upper`, which a missing value answers with itself)."""
        if path[0] != "data":
            return None
        for end in range(2, len(path)):
            if path[end] in _FIELDS:
                key = ".".join(path[1:end])
                if key in self.keys:
                    return FailedRead(key, path[end], negated)
        return None

    @staticmethod
    def _guarded(read: FailedRead, defined: frozenset[_Path]) -> bool:
        # Stored together: a guard on either field shows the other is there too.
        return any(("data", read.key, field) in defined for field in _FIELDS)

    def _implied(self, node: nodes.Node, truthy: bool) -> frozenset[_Path]:
        """The reads known to be there when `node` is `truthy` (or falsy), as `("data", key,
        field)`: `p is defined`, `p is undefined` (falsy), `not ...`, and `and` (truthy) or
        `or` (falsy) of those."""
        if isinstance(node, nodes.Test) and node.name in _DEFINED_TESTS:
            path = self._resolve(node.node)
            read = None if path is None else self._read_of(path, False)
            if read is None or _DEFINED_TESTS[node.name] != truthy:
                return _NONE
            return frozenset({("data", read.key, read.field)})
        if isinstance(node, nodes.Not):
            return self._implied(node.node, not truthy)
        if (isinstance(node, nodes.And) and truthy) or (isinstance(node, nodes.Or) and not truthy):
            return self._implied(node.left, truthy) | self._implied(node.right, truthy)
        return _NONE

    def _children(self, node: nodes.Node, counted: bool) -> Iterator[_Child]:
        """Each child with whether it is counted, the reads known there, and whether it is
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
            yield from _argument_children(node, tested)
        elif isinstance(node, _OPERATIONS):
            yield from _operation_children(node, counted)
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


def _operation_children(node: nodes.Node, counted: bool) -> Iterator[_Child]:
    """Children of `%`, arithmetic, a call, a lookup that is not a path: Jinja's `Undefined`
    refuses arithmetic and calls (a template failure each turn), and answers a lookup with
    itself (`data.slots.error[0]` is as missing as `data.slots.error`)."""
    if isinstance(node, nodes.Mod):
        # `'%s' % x` prints `x`; any other `%` (a number's) fails on a missing value.
        yield node.left, True, _NONE, False
        yield from _percent_children(_text_of(node.left), node.right)
    elif isinstance(node, _ARITHMETIC):
        yield from ((child, True, _NONE, False) for child in (node.left, node.right))
    elif isinstance(node, _SIGNS):
        yield node.node, True, _NONE, False
    elif isinstance(node, nodes.Call):
        yield from _call_children(node)
    elif isinstance(node, nodes.Getattr | nodes.Getitem):
        yield node.node, counted, _NONE, False
        if isinstance(node, nodes.Getitem):
            yield node.arg, False, _NONE, False


def _argument_children(node: nodes.Filter | nodes.Test, tested: bool) -> Iterator[_Child]:
    """A filter's or test's arguments: `x is eq y` compares `y` too; `'%s' | format(y)` is
    `'%s' % (y,)`, and `format(e=y)` is `% {'e': y}`."""
    # Jinja types them as `Pair`s; its parser makes `Keyword`s.
    keywords = cast(list[nodes.Keyword], node.kwargs)
    named: list[tuple[str | None, nodes.Node]] = [(kw.key, kw.value) for kw in keywords]
    if isinstance(node, nodes.Filter) and node.name == "format" and node.node is not None:
        yield from _percent_args(_text_of(node.node), node.args, named)
    else:
        counts = isinstance(node, nodes.Test) and tested and node.name in _COMPARED_ARGUMENTS
        yield from ((arg, counts, _NONE, False) for arg in [*node.args, *(v for _, v in named)])
    for extra in (node.dyn_args, node.dyn_kwargs):
        if extra is not None:
            yield extra, False, _NONE, False


def _text_of(node: nodes.Node) -> str | None:
    """The string a node is, when it is a literal one."""
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def _percent_fields(fmt: str | None) -> list[tuple[str | None, str]] | None:
    """Each conversion of a `%` format (its `(key)` and its type), but `%%`; None for an
    unknown format."""
    if fmt is None:
        return None
    return [(m["key"], m["kind"]) for m in _PERCENT.finditer(fmt) if m["kind"] != "%"]


def _percent_args(
    fmt: str | None,
    positional: Sequence[nodes.Node],
    named: Sequence[tuple[str | None, nodes.Node]],
) -> Iterator[_Child]:
    """The values of `fmt % (positional)` or `fmt % {named}`, each counted where `fmt` prints
    it (`%r` shows a `repr`, quiet): all of them when `fmt` is not known."""
    fields = _percent_fields(fmt)
    for index, value in enumerate(positional):
        shown = fields is None or (index < len(fields) and fields[index][1] not in _REPR)
        yield value, shown, _NONE, False
    keys = None if fields is None else {key for key, kind in fields if kind not in _REPR}
    yield from ((value, keys is None or key in keys, _NONE, False) for key, value in named)


def _percent_children(fmt: str | None, right: nodes.Node) -> Iterator[_Child]:
    """`fmt % right`: a literal tuple's items and dict's values as `_percent_args`; one value is
    printed, unless `fmt` shows its `repr` (any other count of conversions fails on it)."""
    if isinstance(right, nodes.Tuple):
        yield from _percent_args(fmt, right.items, [])
    elif isinstance(right, nodes.Dict):
        yield from ((pair.key, False, _NONE, False) for pair in right.items)
        yield from _percent_args(fmt, [], [(_text_of(p.key), p.value) for p in right.items])
    else:
        fields = _percent_fields(fmt)
        shown = fields is None or len(fields) != 1 or fields[0][1] not in _REPR
        yield right, shown, _NONE, False


def _format_fields(fmt: str) -> list[tuple[int | str, tuple[int | str, ...], bool]] | None:
    """Each field of a `str.format` format: the argument it names (a position or a keyword),
    the lookups after it (`{0.error}`: ("error",)), and whether it is printed (`{!r}` shows
    a `repr`); None when the format is broken (it fails whatever its arguments)."""
    fields: list[tuple[int | str, tuple[int | str, ...], bool]] = []
    auto = 0
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return None
    for _, name, _, conversion in parsed:
        if name is None:
            continue
        head = re.match(r"[^.[]*", name)
        argument = "" if head is None else head.group()
        first: int | str = int(argument) if argument.isdigit() else argument
        if name == "":  # `{}`: numbered as the sandbox's `string.Formatter` does
            first, auto = auto, auto + 1
        lookups = tuple(
            attr or (int(item) if item.isdigit() else item)
            for attr, item in _FIELD_LOOKUP.findall(name, len(argument))
        )
        fields.append((first, lookups, conversion not in _REPR))
    return fields


def _call_children(node: nodes.Call) -> Iterator[_Child]:
    """A call's children: calling a missing value fails, whatever it is called with;
    `str.format` prints the arguments its fields name (and `{0.error}` looks a field up
    itself: the lookup is a child of its own); other calls are given their arguments."""
    yield node.node, True, _NONE, False
    for extra in (node.dyn_args, node.dyn_kwargs):
        if extra is not None:
            yield extra, False, _NONE, False
    callee = node.node
    if not isinstance(callee, nodes.Getattr) or callee.attr not in ("format", "format_map"):
        yield from ((arg, False, _NONE, False) for arg in node.args)
        yield from ((keyword.value, False, _NONE, False) for keyword in node.kwargs)
        return
    arguments: dict[int | str, nodes.Node] = dict(enumerate(node.args))
    arguments.update((keyword.key, keyword.value) for keyword in node.kwargs)
    if callee.attr == "format_map" and len(node.args) == 1 and isinstance(node.args[0], nodes.Dict):
        arguments = {}
        for pair in node.args[0].items:
            name = _text_of(pair.key)
            yield pair.key, False, _NONE, False
            if name is None:  # not a field's name
                yield pair.value, False, _NONE, False
            else:
                arguments[name] = pair.value
    fmt = _text_of(callee.node)
    yield from _format_children(None if fmt is None else _format_fields(fmt), arguments)


def _format_children(
    fields: list[tuple[int | str, tuple[int | str, ...], bool]] | None,
    arguments: Mapping[int | str, nodes.Node],
) -> Iterator[_Child]:
    """The arguments of a `str.format` with `fields` (`_format_fields`; None: each may be
    printed), and a child of its own for each field's lookups on an argument (`{0.error}`)."""
    if fields is None:
        yield from ((value, True, _NONE, False) for value in arguments.values())
        return
    printed: set[int | str] = set()
    for first, lookups, shown in fields:
        value = arguments.get(first)
        if value is None:
            continue
        if not lookups:
            printed.update([first] if shown else [])
        elif _path_of(value) is not None:
            for key in lookups:
                if not isinstance(key, str):  # `[0]`: a path stops there
                    break
                value = nodes.Getattr(value, key, "load")
            yield value, shown, _NONE, False
    yield from ((value, key in printed, _NONE, False) for key, value in arguments.items())
