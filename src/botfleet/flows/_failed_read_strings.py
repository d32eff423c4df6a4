"""What `%` and `str.format` print, for `_failed_reads`: a value a format shows is printed
(`'%s' % x`, `'{}'.format(x)`, `'{0.error}'.format(r)`), one shown as a `repr` (`%r`, `{!r}`) is
quiet, and when the format is not a literal each value may be printed. Pure.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping, Sequence

from jinja2 import nodes

from botfleet.flows._failed_read_values import NONE, Child, plain_path, text_of

#: A `%` conversion: an optional `(key)`, flags, width, precision, length, and its type.
_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<kind>.)", re.S
)
#: A `str.format` field's lookups after its argument: `.error`, `[error]` (`[0]` an index).
_FIELD_LOOKUP = re.compile(r"\.([^.[]+)|\[([^\]]+)\]")
#: Conversions that show a value's `repr` (`%r`, `{!r}`): a missing value's is quiet.
_REPR = frozenset({"r", "a"})


def _percent_fields(fmt: str | None) -> list[tuple[str | None, str]] | None:
    """Each conversion of a `%` format (its `(key)` and its type), but `%%`; None for an
    unknown format."""
    if fmt is None:
        return None
    return [(m["key"], m["kind"]) for m in _PERCENT.finditer(fmt) if m["kind"] != "%"]


def percent_args(
    fmt: str | None,
    positional: Sequence[nodes.Node],
    named: Sequence[tuple[str | None, nodes.Node]],
) -> Iterator[Child]:
    """The values of `fmt % (positional)` or `fmt % {named}`, each counted where `fmt` prints
    it (`%r` shows a `repr`, quiet): all of them when `fmt` is not known."""
    fields = _percent_fields(fmt)
    for index, value in enumerate(positional):
        shown = fields is None or (index < len(fields) and fields[index][1] not in _REPR)
        yield value, shown, NONE, False
    keys = None if fields is None else {key for key, kind in fields if kind not in _REPR}
    yield from ((value, keys is None or key in keys, NONE, False) for key, value in named)


def percent_children(fmt: str | None, right: nodes.Node) -> Iterator[Child]:
    """`fmt % right`: a literal tuple's items and dict's values as `_percent_args`; one value is
    printed, unless `fmt` shows its `repr` (any other count of conversions fails on it)."""
    if isinstance(right, nodes.Tuple):
        yield from percent_args(fmt, right.items, [])
    elif isinstance(right, nodes.Dict):
        yield from ((pair.key, False, NONE, False) for pair in right.items)
        yield from percent_args(fmt, [], [(text_of(p.key), p.value) for p in right.items])
    else:
        fields = _percent_fields(fmt)
        shown = fields is None or len(fields) != 1 or fields[0][1] not in _REPR
        yield right, shown, NONE, False


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


def call_children(node: nodes.Call) -> Iterator[Child]:
    """A call's children: calling a missing value fails, whatever it is called with;
    `str.format` prints the arguments its fields name (and `{0.error}` looks a field up
    itself: the lookup is a child of its own); other calls are given their arguments."""
    yield node.node, True, NONE, False
    for extra in (node.dyn_args, node.dyn_kwargs):
        if extra is not None:
            yield extra, False, NONE, False
    callee = node.node
    if not isinstance(callee, nodes.Getattr) or callee.attr not in ("format", "format_map"):
        yield from ((arg, False, NONE, False) for arg in node.args)
        yield from ((keyword.value, False, NONE, False) for keyword in node.kwargs)
        return
    arguments: dict[int | str, nodes.Node] = dict(enumerate(node.args))
    arguments.update((keyword.key, keyword.value) for keyword in node.kwargs)
    if callee.attr == "format_map" and len(node.args) == 1 and isinstance(node.args[0], nodes.Dict):
        arguments = {}
        for pair in node.args[0].items:
            name = text_of(pair.key)
            yield pair.key, False, NONE, False
            if name is None:  # not a field's name
                yield pair.value, False, NONE, False
            else:
                arguments[name] = pair.value
    fmt = text_of(callee.node)
    yield from _format_children(None if fmt is None else _format_fields(fmt), arguments)


def _format_children(
    fields: list[tuple[int | str, tuple[int | str, ...], bool]] | None,
    arguments: Mapping[int | str, nodes.Node],
) -> Iterator[Child]:
    """The arguments of a `str.format` with `fields` (`_format_fields`; None: each may be
    printed), and a child of its own for each field's lookups on an argument (`{0.error}`)."""
    if fields is None:
        yield from ((value, True, NONE, False) for value in arguments.values())
        return
    printed: set[int | str] = set()
    for first, lookups, shown in fields:
        value = arguments.get(first)
        if value is None:
            continue
        if not lookups:
            printed.update([first] if shown else [])
        elif plain_path(value) is not None:
            for key in lookups:
                if not isinstance(key, str):  # `[0]`: a path stops there
                    break
                value = nodes.Getattr(value, key, "load")
            yield value, shown, NONE, False
    yield from ((value, key in printed, NONE, False) for key, value in arguments.items())
