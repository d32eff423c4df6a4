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
`for`, a `with`, a macro or a filter block keeps the names it binds to itself, as Jinja does. So
are a macro's parameters (its body is walked where it is called, as it runs: with the call's
arguments, the names of the block that defines it as they are then, and the call's guards), a
`namespace()`'s attributes (`{% set ns.r = data.slots %}`), and a literal list's items
(`[data.slots][0]`, `[data.slots.error] | join`); a list or dict a value field's lone `{{ }}`
gives (`set_data`, `params`) is turned into data item by item, each missing one counted. A loop
over the result is not such a read: its items are the answer's (or, after a failure, the names
`failed` and `error`), never the result. The fix is `data.slots.failed is defined` (or
`data.slots.error | default('')`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import cast

from jinja2 import nodes
from jinja2.compiler import find_undeclared

from botfleet.flows._failed_read_strings import call_children, percent_args, percent_children
from botfleet.flows._failed_read_values import (
    NONE,
    Bound,
    Child,
    Items,
    Macro,
    Namespace,
    Path,
    Value,
    looked_up,
    lookup_of,
    text_of,
    useful,
)
from botfleet.flows._spec_walk import iter_actions
from botfleet.flows.schema import ErrorRoute, FlowSpec, InvokeConnector

_FLAG = "failed"
#: What a failure stores, and an answer does not.
_FIELDS = (_FLAG, "error")
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
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.Block,
    nodes.ScopedEvalContextModifier,
)
#: Filters whose operand's items are printed (`join`), or give the item they pick (`first`).
_PRINTING_ITEMS = frozenset({"join"})
_PICKED_ITEM = {"first": 0, "last": -1}
#: How many times, at most, a template's macro bodies are walked again for a call: each call
#: walks its body, which may call others (a template of calls of calls would take for ever).
_MAX_CALLS_FOLLOWED = 64


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
    tree: nodes.Node, keys: Mapping[str, str], *, expression: bool, as_data: bool = False
) -> list[FailedRead]:
    """The reads of `data.<key>.failed` and `data.<key>.error` in `tree` (a condition's, with
    `expression`; from `render.parse_checked`, only read) that a successful answer makes a
    counted missing value, once each, in order; `<key>` among `keys`. With `as_data`, `tree`
    is a lone `{{ expr }}` that a value field (`set_data`, `params`) keeps as data: a list or
    dict it gives is turned into data item by item (`Renderer.value`), a missing item counted
    (printed, a list shows its items' `repr`, quiet)."""
    if not keys:
        return []
    walk = _Walk(frozenset(keys), condition=expression)
    try:
        walk.visit(tree, counted=expression, defined=frozenset())
        lone = _lone_expression(tree) if as_data else None
        if lone is not None:
            walk.visit_data(lone)
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


def _lone_expression(tree: nodes.Node) -> nodes.Node | None:
    """The expression of a template that is only `{{ expr }}` (and blanks around it)."""
    if not isinstance(tree, nodes.Template) or len(tree.body) != 1:
        return None
    output = tree.body[0]
    if not isinstance(output, nodes.Output):
        return None
    blank = [n for n in output.nodes if isinstance(n, nodes.TemplateData) and not n.data.strip()]
    rest = [n for n in output.nodes if not any(n is b for b in blank)]
    return rest[0] if len(rest) == 1 else None


def _takes_caller(macro: nodes.Macro) -> bool:
    """Whether `{% call %}` may call `macro`: Jinja refuses it (the template fails there) when
    the macro neither reads `caller` nor has it as a parameter."""
    if any(arg.name == "caller" for arg in macro.args):
        return True
    return bool(find_undeclared(macro.body, ("caller",)))


class _Walk:
    """Finds the counted reads: `counted` says whether a missing value where a node stands
    would be counted, `defined` the reads a guard above it has shown to be there."""

    def __init__(self, keys: frozenset[str], *, condition: bool) -> None:
        self.keys = keys
        # In a template, testing and comparing a missing value is quiet; printing never is.
        self.tested = condition
        self.found: list[FailedRead] = []
        #: What each name stands for while it is bound: `{% set r = data.slots %}`: "r" ->
        #: ("data", "slots"); a macro's name -> the macro.
        self.aliases: dict[str, Bound] = {}
        #: The names of each enclosing block as they were when the next one was entered (a
        #: block cannot bind its enclosing block's names): what a macro defined there sees.
        self.outer: list[dict[str, Bound]] = []
        #: Every namespace made, for a `{% set x.attr %}` on a name not known to be one.
        self.namespaces: list[Namespace] = []
        self.calling: set[Macro] = set()
        self.calls_followed = 0

    def visit(
        self, node: nodes.Node, *, counted: bool, defined: frozenset[Path], negated: bool = False
    ) -> None:
        value = self._resolve(node)
        if isinstance(value, tuple):
            self._count(value, counted, defined, negated)
            return  # the lookups inside a path read nothing more
        if isinstance(node, nodes.Name):
            if node.ctx != "load":  # bound again by a `set`, a `for`, a `with`...
                self.aliases.pop(node.name, None)
            else:
                self._forget_macro(node.name)  # used other than by a call: not followed
            return
        if isinstance(node, nodes.Macro):
            # Its body runs where it is called (`_visit_call`), never here.
            self.aliases[node.name] = Macro(node, len(self.outer))
            return
        macro = self._called_macro(node)
        if macro is not None:
            self._visit_call(cast(nodes.Call, node), macro, defined)
            return
        if isinstance(node, _SCOPES):
            self._visit_scope(node, defined)
            return
        # Seen before the targets are bound again: `{% set r = r.booking %}`.
        target = node.target if isinstance(node, nodes.Assign | nodes.AssignBlock) else None
        assigned = self._resolve(node.node) if isinstance(node, nodes.Assign) else None
        bound = [] if target is None else self._bindings(target, assigned)
        if isinstance(node, nodes.Filter) and node.node is not None:
            self._count_items(node, counted, defined)
        for child, child_counted, child_defined, child_negated in self._children(node, counted):
            self.visit(
                child,
                counted=child_counted,
                defined=defined | child_defined,
                negated=child_negated,
            )
        if isinstance(target, nodes.NSRef):
            self._set_attribute(target, assigned)
        self.aliases.update(bound)

    def visit_data(self, node: nodes.Node) -> None:
        """A value turned into data: a literal list's, tuple's or dict's items (and keys) each,
        down to what they are."""
        if isinstance(node, nodes.Dict):
            for pair in node.items:
                self.visit_data(pair.key)
                self.visit_data(pair.value)
        elif isinstance(node, nodes.List | nodes.Tuple):
            for item in node.items:
                self.visit_data(item)
        else:
            self._count_value(self._resolve(node), NONE)

    def _count(self, path: Path, counted: bool, defined: frozenset[Path], negated: bool) -> None:
        read = self._read_of(path, negated)
        if read is not None and counted and not self._guarded(read, defined):
            self.found.append(read)

    def _count_value(self, value: Value | None, defined: frozenset[Path]) -> None:
        if isinstance(value, tuple):
            self._count(value, True, defined, False)
        elif isinstance(value, Items):
            for item in value.items:
                self._count_value(item, defined)

    def _count_items(self, node: nodes.Filter, counted: bool, defined: frozenset[Path]) -> None:
        """`[...] | join` prints each item; `| first` gives the first, used as the filter is."""
        items = self._resolve(cast(nodes.Node, node.node))
        if not isinstance(items, Items) or not items.items:
            return
        if node.name in _PRINTING_ITEMS:
            for item in items.items:
                if isinstance(item, tuple):
                    self._count(item, True, defined, False)
        elif node.name in _PICKED_ITEM:
            item = items.items[_PICKED_ITEM[node.name]]
            if isinstance(item, tuple):
                self._count(item, counted, defined, False)

    def _visit_all(self, children: Iterable[nodes.Node], defined: frozenset[Path]) -> None:
        for child in children:
            self.visit(child, counted=False, defined=defined)

    def _visit_scope(self, node: nodes.Node, defined: frozenset[Path]) -> None:
        """A block whose own names (its `set`s, a `with`'s or a loop's variables, a call
        block's arguments) end with it, as in Jinja: the outer names are as they were after it
        (a namespace's attributes are the object's, changed for all)."""
        outer = dict(self.aliases)
        self.outer.append(outer)
        if isinstance(node, nodes.With):
            # The values are read with the outer names: `{% with r = r.booking %}`.
            bound = [
                alias
                for target, value in zip(node.targets, node.values, strict=True)
                for alias in self._bindings(target, self._resolve(value))
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
            children = list(node.iter_child_nodes())
            if isinstance(node, nodes.CallBlock):
                # Its body runs when the macro calls `caller()`, maybe before what it reads.
                self._forget_attributes(node)
                macro = self._called_macro(node.call)
                if macro is not None:  # `call` comes first
                    self._visit_call(node.call, macro, defined, runs=_takes_caller(macro.node))
                    children = children[1:]
            self._visit_all(children, defined)
        self.outer.pop()
        self.aliases = outer

    def _called_macro(self, node: nodes.Node) -> Macro | None:
        """The macro `node` calls by its name, if it is a call of one."""
        if not isinstance(node, nodes.Call) or not isinstance(node.node, nodes.Name):
            return None
        bound = self.aliases.get(node.node.name)
        return bound if isinstance(bound, Macro) else None

    def _visit_call(
        self, node: nodes.Call, macro: Macro, defined: frozenset[Path], *, runs: bool = True
    ) -> None:
        """The arguments, then the macro's body as it runs (unless the call is refused,
        `runs`): its parameters bound to them, the other names those of the block that defines
        it (as they are now), under the call's guards. A macro already being walked (it calls
        itself) is not walked again."""
        extras = [e for e in (node.dyn_args, node.dyn_kwargs) if e is not None]
        self._visit_all([*node.args, *(kw.value for kw in node.kwargs), *extras], defined)
        if not runs:
            return
        if macro in self.calling or self.calls_followed >= _MAX_CALLS_FOLLOWED:
            self._forget_attributes(macro.node)
            return
        self.calls_followed += 1
        given = self._arguments(node, macro.node)
        caller_aliases, caller_outer = self.aliases, self.outer
        seen = self.aliases if macro.depth == len(self.outer) else self.outer[macro.depth]
        own = {arg.name for arg in macro.node.args} | {"caller", "varargs", "kwargs"}
        self.outer = [*self.outer[: macro.depth], seen]
        self.aliases = {name: bound for name, bound in seen.items() if name not in own}
        self.calling.add(macro)
        try:
            self._bind_parameters(macro.node, given, defined)
            self._visit_all(macro.node.body, defined)
        finally:
            self.calling.discard(macro)
            self.aliases, self.outer = caller_aliases, caller_outer

    def _arguments(self, node: nodes.Call, macro: nodes.Macro) -> dict[str, Value | None]:
        """Parameter -> what the call gives it (None: unknown); one it gives none of is left
        out. With `*args` or `**kwargs` any parameter may be given: each is unknown then."""
        names = [arg.name for arg in macro.args]
        given = {name: self._resolve(value) for name, value in zip(names, node.args, strict=False)}
        given.update((kw.key, self._resolve(kw.value)) for kw in node.kwargs if kw.key in names)
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            given.update((name, None) for name in names if name not in given)
        return given

    def _bind_parameters(
        self, macro: nodes.Macro, given: Mapping[str, Value | None], defined: frozenset[Path]
    ) -> None:
        """Each parameter bound to its argument, or to its default (run in the body, where the
        parameters before it are bound) when the call gives none."""
        offset = len(macro.args) - len(macro.defaults)
        for index, arg in enumerate(macro.args):
            if arg.name in given:
                value = given[arg.name]
            elif index >= offset:
                default = macro.defaults[index - offset]
                self.visit(default, counted=False, defined=defined)
                value = self._resolve(default)
            else:
                continue
            if useful(value):
                self.aliases[arg.name] = cast(Value, value)

    def _forget_macro(self, name: str) -> None:
        """A macro handed on (`{% set f = m %}`) may run anywhere: not followed, and what its
        body may set in a namespace is unknown from here on."""
        bound = self.aliases.get(name)
        if isinstance(bound, Macro):
            self._forget_attributes(bound.node)

    def _forget_attributes(self, node: nodes.Node) -> None:
        """The namespace attributes `node` sets somewhere inside are unknown from here on."""
        for ref in node.find_all(nodes.NSRef):
            self._forget_attribute(ref.attr)

    def _forget_attribute(self, attr: str) -> None:
        for made in self.namespaces:
            made.attrs.pop(attr, None)

    def _set_attribute(self, target: nodes.NSRef, value: Value | None) -> None:
        """`{% set ns.attr = value %}`: the namespace's attribute is `value` (unknown, if it is
        nothing to follow); a name not known to be a namespace may be any of them."""
        made = self.aliases.get(target.name)
        if not isinstance(made, Namespace):
            self._forget_attribute(target.attr)
        elif useful(value):
            made.attrs[target.attr] = cast(Value, value)
        else:
            made.attrs.pop(target.attr, None)

    def _bindings(self, target: nodes.Node, value: Value | None) -> list[tuple[str, Value]]:
        """The aliases `target = value` makes: a name bound to what leads to `data`, or each
        name of `a, b = x, y` to its own."""
        if isinstance(target, nodes.Tuple):
            if not isinstance(value, Items) or len(value.items) != len(target.items):
                return []
            pairs = zip(target.items, value.items, strict=True)
            return [alias for item, part in pairs for alias in self._bindings(item, part)]
        if not isinstance(target, nodes.Name) or not useful(value):
            return []
        return [(target.name, cast(Value, value))]

    def _resolve(self, node: nodes.Node) -> Value | None:
        """What `node` stands for, through the names bound: a path (`r.error` with `r` bound to
        `data.slots`: ("data", "slots", "error")), a literal list's items, a namespace."""
        if isinstance(node, nodes.Name):
            if node.ctx != "load":
                return None
            bound = self.aliases.get(node.name)
            if bound is None:
                return (node.name,)
            return None if isinstance(bound, Macro) else bound
        if isinstance(node, nodes.List) or (isinstance(node, nodes.Tuple) and node.ctx == "load"):
            return Items(tuple(self._resolve(item) for item in node.items))
        if isinstance(node, nodes.Call):
            return self._namespace_made(node)
        key = lookup_of(node)
        if key is None:
            return None
        return looked_up(self._resolve(cast(nodes.Getattr | nodes.Getitem, node).node), key)

    def _namespace_made(self, node: nodes.Call) -> Namespace | None:
        """The namespace `namespace(...)` makes, with the attributes it is given (a literal
        dict's keys, then the keywords, which win)."""
        callee = node.node
        if not isinstance(callee, nodes.Name) or callee.name != "namespace":
            return None
        if callee.name in self.aliases:  # bound to something of the template's own
            return None
        made = Namespace()
        pairs = [
            (text_of(pair.key), pair.value)
            for arg in node.args
            if isinstance(arg, nodes.Dict)
            for pair in arg.items
        ]
        pairs += [(kw.key, kw.value) for kw in node.kwargs]
        for name, given in pairs:
            value = self._resolve(given)
            if name is not None and useful(value):
                made.attrs[name] = cast(Value, value)
            elif name is not None:
                made.attrs.pop(name, None)
        self.namespaces.append(made)
        return made

    def _read_of(self, path: Path, negated: bool) -> FailedRead | None:
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
    def _guarded(read: FailedRead, defined: frozenset[Path]) -> bool:
        # Stored together: a guard on either field shows the other is there too.
        return any(("data", read.key, field) in defined for field in _FIELDS)

    def _implied(self, node: nodes.Node, truthy: bool) -> frozenset[Path]:
        """The reads known to be there when `node` is `truthy` (or falsy), as `("data", key,
        field)`: `p is defined`, `p is undefined` (falsy), `not ...`, and `and` (truthy) or
        `or` (falsy) of those."""
        if isinstance(node, nodes.Test) and node.name in _DEFINED_TESTS:
            path = self._resolve(node.node)
            read = self._read_of(path, False) if isinstance(path, tuple) else None
            if read is None or _DEFINED_TESTS[node.name] != truthy:
                return NONE
            return frozenset({("data", read.key, read.field)})
        if isinstance(node, nodes.Not):
            return self._implied(node.node, not truthy)
        if (isinstance(node, nodes.And) and truthy) or (isinstance(node, nodes.Or) and not truthy):
            return self._implied(node.left, truthy) | self._implied(node.right, truthy)
        return NONE

    def _children(self, node: nodes.Node, counted: bool) -> Iterator[Child]:
        """Each child with whether it is counted, the reads known there, and whether it is
        negated."""
        tested = self.tested
        if isinstance(node, nodes.Output):
            yield from ((child, True, NONE, False) for child in node.nodes)
        elif isinstance(node, nodes.If):
            yield node.test, tested, NONE, False
            # After the `set`s before the `if`, and before those of its branches.
            body, other = self._implied(node.test, True), self._implied(node.test, False)
            yield from ((child, False, body, False) for child in node.body)
            yield from ((child, False, other, False) for child in [*node.elif_, *node.else_])
        elif isinstance(node, nodes.CondExpr | nodes.Not | nodes.And | nodes.Or):
            yield from self._logic_children(node, counted)
        elif isinstance(node, nodes.Compare):
            for child in [node.expr, *(operand.expr for operand in node.ops)]:
                yield child, tested, NONE, False
        elif isinstance(node, nodes.Concat):
            yield from ((child, True, NONE, False) for child in node.nodes)
        elif isinstance(node, nodes.Test) and node.name in _DEFINED_TESTS:
            return  # looks at the type only
        elif isinstance(node, nodes.Filter | nodes.Test) and node.node is not None:
            yield node.node, _operand_counts(node, tested), NONE, False
            yield from _argument_children(node, tested)
        elif isinstance(node, _OPERATIONS):
            yield from _operation_children(node, counted)
        else:
            yield from ((child, False, NONE, False) for child in node.iter_child_nodes())

    def _logic_children(
        self, node: nodes.CondExpr | nodes.Not | nodes.And | nodes.Or, counted: bool
    ) -> Iterator[Child]:
        tested = self.tested
        if isinstance(node, nodes.CondExpr):
            yield node.test, tested, NONE, False
            yield node.expr1, counted, self._implied(node.test, True), False
            if node.expr2 is not None:
                yield node.expr2, counted, self._implied(node.test, False), False
        elif isinstance(node, nodes.Not):
            yield node.node, tested, NONE, True
        elif isinstance(node, nodes.And):
            # A missing left operand is also the result: the parent's use counts too.
            yield node.left, tested or counted, NONE, False
            yield node.right, counted, self._implied(node.left, True), False
        else:
            yield node.left, tested, NONE, False
            yield node.right, counted, self._implied(node.left, False), False


def _operand_counts(node: nodes.Filter | nodes.Test, tested: bool) -> bool:
    """Whether a missing value through filter or test `node` is counted (never `default`)."""
    if isinstance(node, nodes.Filter):
        printing, measuring = _PRINTING_FILTERS, _MEASURING_FILTERS
    else:
        printing, measuring = _PRINTING_TESTS, _COMPARING_TESTS
    return node.name in printing or (tested and node.name in measuring)


def _operation_children(node: nodes.Node, counted: bool) -> Iterator[Child]:
    """Children of `%`, arithmetic, a call, a lookup that is not a path: Jinja's `Undefined`
    refuses arithmetic and calls (a template failure each turn), and answers a lookup with
    itself (`data.slots.error[0]` is as missing as `data.slots.error`)."""
    if isinstance(node, nodes.Mod):
        # `'%s' % x` prints `x`; any other `%` (a number's) fails on a missing value.
        yield node.left, True, NONE, False
        yield from percent_children(text_of(node.left), node.right)
    elif isinstance(node, _ARITHMETIC):
        yield from ((child, True, NONE, False) for child in (node.left, node.right))
    elif isinstance(node, _SIGNS):
        yield node.node, True, NONE, False
    elif isinstance(node, nodes.Call):
        yield from call_children(node)
    elif isinstance(node, nodes.Getattr | nodes.Getitem):
        yield node.node, counted, NONE, False
        if isinstance(node, nodes.Getitem):
            yield node.arg, False, NONE, False


def _argument_children(node: nodes.Filter | nodes.Test, tested: bool) -> Iterator[Child]:
    """A filter's or test's arguments: `x is eq y` compares `y` too; `'%s' | format(y)` is
    `'%s' % (y,)`, and `format(e=y)` is `% {'e': y}`."""
    # Jinja types them as `Pair`s; its parser makes `Keyword`s.
    keywords = cast(list[nodes.Keyword], node.kwargs)
    named: list[tuple[str | None, nodes.Node]] = [(kw.key, kw.value) for kw in keywords]
    if isinstance(node, nodes.Filter) and node.name == "format" and node.node is not None:
        yield from percent_args(text_of(node.node), node.args, named)
    else:
        counts = isinstance(node, nodes.Test) and tested and node.name in _COMPARED_ARGUMENTS
        yield from ((arg, counts, NONE, False) for arg in [*node.args, *(v for _, v in named)])
    for extra in (node.dyn_args, node.dyn_kwargs):
        if extra is not None:
            yield extra, False, NONE, False
