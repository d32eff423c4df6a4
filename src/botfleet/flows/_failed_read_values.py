"""What a name or an expression of a template stands for, as `_failed_reads` follows it. Pure.

A path under a namespace (`data.slots`), a literal list's or tuple's items (`[data.slots, 1]`),
a `namespace(...)`'s attributes, or a macro. Only what the template itself makes certain is
kept: anything else is unknown (None), which is never warned about.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jinja2 import nodes

#: A name and the attributes or literal subscripts read from it: ("data", "slots", "failed").
Path = tuple[str, ...]
#: A child node, whether a missing value there is counted, the paths known to be there, and
#: whether it is the operand of a `not`.
Child = tuple[nodes.Node, bool, frozenset[Path], bool]
NONE: frozenset[Path] = frozenset()


@dataclass(frozen=True, slots=True, eq=False)
class Items:
    """A literal list or tuple: what each item is (None where unknown)."""

    items: tuple[Value | None, ...]


@dataclass(slots=True, eq=False)
class Namespace:
    """A `namespace(...)`: its attributes known to stand for something. Shared, as Jinja's
    object is, by every name bound to it: a `{% set ns.r = ... %}` in a loop or a macro's
    body changes it for the names outside too."""

    attrs: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class Macro:
    """A macro, and how many blocks deep it is defined (the names its body sees are that
    block's when it is called, not when it is defined: Jinja's macros are closures)."""

    node: nodes.Macro
    depth: int


Value = Path | Items | Namespace
#: What a name may be bound to.
Bound = Value | Macro


def useful(value: Value | None) -> bool:
    """Whether `value` is worth a name: it leads to `data`, somehow."""
    if isinstance(value, tuple):
        return value[0] == "data"
    if isinstance(value, Items):
        return any(useful(item) for item in value.items)
    return isinstance(value, Namespace)


def lookup_of(node: nodes.Node) -> str | int | None:
    """The attribute or literal subscript `node` looks up (`.r`, `['r']`, `[0]`), if it is a
    lookup of one."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        key = node.arg.value
        if isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)):
            return key
    return None


def looked_up(base: Value | None, key: str | int) -> Value | None:
    """What `base.key` (or `base[key]`) is: a path goes on with a name (an index reads the
    answer's items, never the result); a literal list gives its item; a namespace its
    attribute."""
    if isinstance(base, tuple):
        return (*base, key) if isinstance(key, str) else None
    if (
        isinstance(base, Items)
        and isinstance(key, int)
        and -len(base.items) <= key < len(base.items)
    ):
        return base.items[key]
    if isinstance(base, Namespace) and isinstance(key, str):
        return base.attrs.get(key)
    return None


def plain_path(node: nodes.Node) -> Path | None:
    """`a.b['c']` as ("a", "b", "c"), when `node` is only a name and attribute or literal
    string subscript lookups (whatever the name is bound to)."""
    parts: list[str] = []
    key = lookup_of(node)
    while isinstance(key, str) and isinstance(node, nodes.Getattr | nodes.Getitem):
        parts.append(key)
        node = node.node
        key = lookup_of(node)
    if not isinstance(node, nodes.Name) or node.ctx != "load":
        return None
    return (node.name, *reversed(parts))


def text_of(node: nodes.Node) -> str | None:
    """The string a node is, when it is a literal one."""
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None
