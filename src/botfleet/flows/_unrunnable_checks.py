"""What a template asks of the sandbox that it never gives, found before any turn runs. Pure.

Two kinds of templates pass Jinja's parser and compiler and then fail every render they reach
(`template_failed`): those loading another template (`{% include %}`, `{% import %}`,
`{% from ... import %}`, `{% extends %}`: the renderer has no loader, a flow's templates are
not files), and those calling what no value of the turn's namespaces can answer
(`tenant.keys()`: a dot on a mapping reads its key; `data.name.encode()`: a method the sandbox
refuses; `now.hour()`: a value). A call is judged by asking the sandbox itself
(`render.template_lookup`) about a sample of every kind of value its place can hold, so a call
that works on one of them (`data.x.upper()` on text, `data.x.count(1)` on a list) is never
refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Undefined, nodes

from botfleet.flows.render import template_can_call, template_lookup
from botfleet.flows.typed_typos import osa_distance


class _Mapping:
    """A mapping of JSON values with any keys: `data`, `message`, `contact`, `tenant` and every
    mapping inside them (what a connector answered, a task's data)."""

    __slots__ = ()


_MAPPING = _Mapping()
#: One value of each kind a JSON value can be (a bool has an int's methods).
_JSON: tuple[Any, ...] = (_MAPPING, "", [], 0, 0.5, None)
#: What each namespace holds (`turn.TurnBuilder._build_variables`): `today` is ISO text, `now`
#: a date-time in the tenant's zone (a `ZoneInfo`, as there); the others, mappings.
ROOTS: Mapping[str, tuple[Any, ...]] = {
    "data": (_MAPPING,),
    "message": (_MAPPING,),
    "contact": (_MAPPING,),
    "tenant": (_MAPPING,),
    "today": ("",),
    "now": (datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC")),),
}
#: The tags that load another template, by the word that opens them.
_LOADS: Mapping[type[nodes.Node], str] = {
    nodes.Import: "import",
    nodes.FromImport: "from",
    nodes.Include: "include",
    nodes.Extends: "extends",
}
#: What to write instead of a mapping's method (a dot reads its key).
_MAPPING_HINTS = {
    "get": "; give a value that may be missing a default with `| default(...)`, or test it "
    "with `is defined`",
    "items": "; go over its keys and values with `| items` (or `| dictsort`)",
    "keys": "; its keys are `| list`",
}
_NEWLINE = re.compile(r"\r\n|\r|\n")  # Jinja's lexer counts lines by these


@dataclass(frozen=True, slots=True)
class Unrunnable:
    """A part of a template that fails every render, and the offset in its source where it is
    written (where the tag or the call's name starts; else the start of its line).

    A load is an error: no flow can have one that works. A call is a warning: it is judged on
    samples of what a place holds, and a flow published before this check, with one such text
    among many that work, must still load when its data plane restarts on a new release."""

    message: str
    offset: int
    is_error: bool


#: The most problems told of one template: the first few are what to fix, and a hostile flow
#: of thousands of them costs no more than a few (each is placed by searching the text).
MAX_UNRUNNABLE = 10


def unrunnable_in(tree: nodes.Node, source: str) -> Iterator[Unrunnable]:
    """What in `tree` (`render.parse_checked`'s, of `source`) can never run, once a message,
    at most `MAX_UNRUNNABLE`."""
    return islice(_unrunnable(tree, source), MAX_UNRUNNABLE)


def _unrunnable(tree: nodes.Node, source: str) -> Iterator[Unrunnable]:
    starts = [0, *(match.end() for match in _NEWLINE.finditer(source))]
    seen: set[str] = set()
    for tag in tree.find_all(tuple(_LOADS)):
        keyword = _LOADS[type(tag)]
        message = (
            "templates cannot import, include or extend other templates "
            f"(`{{% {keyword} ... %}}`): there are none to load, a flow's templates are not "
            "files, so it fails at every turn; write the text out here (a `{% macro %}` of "
            "this template can repeat a part of it)"
        )
        if message not in seen:
            seen.add(message)
            pattern = rf"\{{%[-+]?\s*{keyword}\b"
            yield Unrunnable(message, _offset(source, starts, tag.lineno, pattern), True)
    # A name the template sets itself (`{% set tenant = ... %}`, a loop's, a macro's) is not
    # the namespace.
    own_names = _set_names(tree)
    roots = {name: held for name, held in ROOTS.items() if name not in own_names}
    # A condition's tree may be the call itself, which `find_all` does not yield.
    own = [tree] if isinstance(tree, nodes.Call) else []
    for call in (*own, *tree.find_all(nodes.Call)):
        problem = _call_problem(call, roots)
        if problem is not None and problem not in seen:
            seen.add(problem)
            callee = call.node
            offset = _offset(source, starts, callee.lineno, _written(callee))
            yield Unrunnable(problem, offset, False)


def _offset(source: str, starts: list[int], lineno: int, pattern: str) -> int:
    """Where `pattern` first matches from the start of line `lineno` of `source` (the node's,
    as Jinja counts them), else that line's start."""
    start = starts[min(max(lineno, 1), len(starts)) - 1]
    found = re.compile(pattern).search(source, start)
    return found.start() if found else start


def _written(callee: nodes.Node) -> str:
    """A pattern of where the call of `callee` is written (`.keys(`, `tenant(`, `](`)."""
    if isinstance(callee, nodes.Getattr):
        return rf"\.\s*{re.escape(callee.attr)}\s*\("
    if isinstance(callee, nodes.Name):
        return rf"(?<![\w.]){re.escape(callee.name)}\s*\("
    return r"\]\s*\("


def _set_names(tree: nodes.Node) -> set[str]:
    names = {name.name for name in tree.find_all(nodes.Name) if name.ctx in ("store", "param")}
    names.update(macro.name for macro in tree.find_all(nodes.Macro))
    names.update(load.target for load in tree.find_all(nodes.Import))
    for load in tree.find_all(nodes.FromImport):
        names.update(item if isinstance(item, str) else item[1] for item in load.names)
    return names


def _call_problem(call: nodes.Call, roots: Mapping[str, tuple[Any, ...]]) -> str | None:
    """Why `call` fails whatever the turn holds, or None when it may work (or its callee is
    not a namespace's value: a call's result, a filter's, a name the template sets)."""
    callee = call.node
    held = _values(callee, roots)
    if held is None or any(template_can_call(value) for value in held):
        return None
    given = call.args or call.kwargs or call.dyn_args or call.dyn_kwargs
    shown = f"{_shown(callee)}({'...' if given else ''})"
    return f"`{shown}` fails at every turn: {_why(callee, roots)}"


def _why(callee: nodes.Node, roots: Mapping[str, tuple[Any, ...]]) -> str:
    if not isinstance(callee, nodes.Getattr):
        return f"`{_shown(callee)}` is a value, not something to call"
    name = callee.attr
    owner = _values(callee.node, roots) or ()
    objects = [value for value in owner if value is not _MAPPING]
    if any(not isinstance(template_lookup(value, name), Undefined) for value in objects):
        return f"`{_shown(callee)}` is a value, not a method: read it without `()`"
    if any(hasattr(value, name) for value in objects):
        if name.startswith("_"):
            return f"the sandbox refuses `.{name}`, as it does every name that starts with `_`"
        if hasattr("", name):
            return (
                f"the sandbox refuses `.{name}()` on text: only plain text methods such as "
                "upper, lower, replace, split and startswith can be called"
            )
        return f"the sandbox refuses `.{name}()`: lists and mappings cannot be changed in place"
    shown = _shown(callee.node)
    if _MAPPING in owner:
        why = f"on a mapping, `.{name}` reads its key {name!r}, never a method"
        if objects:
            why += f", and no other value `{shown}` can hold has a method `{name}`"
        return why + _MAPPING_HINTS.get(name, "")
    methods = {method for value in objects for method in _methods(type(value), value)}
    return f"`{shown}` has no method `{name}`{_typo_of(name, methods)}"


def _typo_of(name: str, methods: set[str]) -> str:
    """` (did you mean 'upper'?)` for the method `name` (`uper`) is an edit or two from. A
    bounded comparison rather than `did_you_mean`'s, which costs milliseconds a name: a flow
    upload may hold thousands of calls."""
    most = 2 if len(name) >= 6 else 1
    near = sorted((osa_distance(name, method, most), method) for method in methods)
    return f" (did you mean {near[0][1]!r}?)" if near and near[0][0] <= most else ""


_METHODS: dict[type, frozenset[str]] = {}


def _methods(kind: type, value: Any) -> frozenset[str]:
    """The methods a template may call on `value`, a `kind` (the same for every value of it)."""
    known = _METHODS.get(kind)
    if known is None:
        known = frozenset(
            attribute
            for attribute in dir(value)
            if not attribute.startswith("_")
            and template_can_call(template_lookup(value, attribute))
        )
        _METHODS[kind] = known
    return known


def _values(node: nodes.Node, roots: Mapping[str, tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """A sample of every kind of value `node` can be, a namespace read through keys and
    attributes (empty: it is never there); None when it is anything else."""
    if isinstance(node, nodes.Name):
        return roots.get(node.name) if node.ctx == "load" else None
    if not isinstance(node, nodes.Getattr | nodes.Getitem) or node.ctx != "load":
        return None
    held = _values(node.node, roots)
    if held is None:
        return None
    if isinstance(node, nodes.Getattr):
        return _looked_up(held, node.attr, item=False)
    key = node.arg.value if isinstance(node.arg, nodes.Const) else None
    if isinstance(key, str):
        return _looked_up(held, key, item=True)
    # An index, a slice or a key only known when it runs: an item of JSON is JSON.
    return _JSON if all(_is_json(value) for value in held) else None


def _looked_up(held: tuple[Any, ...], key: str, *, item: bool) -> tuple[Any, ...]:
    found: list[Any] = []
    for value in held:
        if value is _MAPPING:
            found.extend(_JSON)  # the key's value, when the mapping has it
            if not item:
                continue
            value = {}  # else `['key']` falls back to a mapping's method (`data['get']`)
        looked = template_lookup(value, key, item=item)
        if not isinstance(looked, Undefined):
            found.append(looked)
    return _one_of_each_kind(found)


def _one_of_each_kind(values: list[Any]) -> tuple[Any, ...]:
    """`values` with one sample of each JSON kind: only the kind decides what a lookup or a
    call does on one, and a chain (`data.x.real.real...`) added two samples a step, which made
    one call's check quadratic in its length (a hostile upload of such chains took seconds)."""
    seen: set[Any] = set()
    kept = []
    for value in values:
        kind = type(value) if _is_json(value) else id(value)
        if kind not in seen:
            seen.add(kind)
            kept.append(value)
    return tuple(kept)


def _is_json(value: Any) -> bool:
    return value is _MAPPING or value is None or isinstance(value, str | int | float | list)


def _shown(node: nodes.Node) -> str:
    """`node` as a template writes it (only names, keys and attributes come here)."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_shown(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        key = node.arg.value if isinstance(node.arg, nodes.Const) else None
        return (
            f"{_shown(node.node)}[{key!r}]"
            if isinstance(key, str | int)
            else f"{_shown(node.node)}[...]"
        )
    return "..."
