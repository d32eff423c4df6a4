"""Resource limits of the template sandbox: a per-render work budget and size checks. Pure.

A flow author (a tenant) writes templates; the engine renders them inside a turn. Jinja's
sandbox stops escapes to Python internals but not work: nested loops, doubling strings,
`'%999999999d' % 1` or `'x' | center(10**9)` would hold the process for minutes or exhaust its
memory. Here:

* every render gets a budget of `MAX_STEPS` units: one per loop iteration, function or filter
  call, and per item visited by the size checks (`Budget`);
* every value a template builds (operators, concatenation, list and dict literals, call and
  filter results, printed values) weighs at most `MAX_OUTPUT` (its characters and items,
  nested ones included), and operations that multiply sizes (`*`, `%` and `format` widths,
  `center`, `replace`, `join`, `indent`, `wordwrap`, `batch`, `slice`, `tojson`) are checked
  before they run, so nothing large is ever allocated.

Breaking a limit raises Jinja's `SecurityError`, which the renderer reports like any other
template failure. The numbers are far above what a chat message needs.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from functools import wraps
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.visitor import NodeTransformer

#: Upper bound on a rendered string, and on the weight of any value a template builds.
MAX_OUTPUT = 16_384
#: Work units per render: loop iterations, calls, and items visited by the size checks.
MAX_STEPS = 50_000

#: str methods a template may call; the rest (`translate`, `expandtabs`, `encode`...) have no
#: use in a message and some of them multiply sizes.
SAFE_STR_METHODS = frozenset(
    {
        "capitalize", "casefold", "center", "count", "endswith", "find", "format", "index",
        "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "islower", "isnumeric",
        "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition",
        "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition",
        "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
        "upper", "zfill",
    }
)  # fmt: skip

LOOP_FILTER = "_budgeted_loop"
BOUNDED_FILTER = "_bounded_value"

#: The current render's units left (one mutable cell), None outside a render. `Budget` sets it;
#: the renderer sets it directly, as `Budget` does (its hot path saves the object and calls).
BUDGET: ContextVar[list[int] | None] = ContextVar("_remaining", default=None)
_remaining = BUDGET
# %[(name)][flags][width][.precision][length]type
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.DOTALL)
_NUMBERS = re.compile(r"\d+")


class Budget:
    """`with Budget():` gives the code inside a fresh allowance of `MAX_STEPS` units."""

    def __enter__(self) -> Budget:
        self._token = _remaining.set([MAX_STEPS])
        return self

    def __exit__(self, *exc: object) -> None:
        _remaining.reset(self._token)


def charge(units: int = 1) -> None:
    """Spend `units` of the current render's budget (no budget outside a render: free)."""
    left = _remaining.get()
    if left is None:
        return
    left[0] -= units
    if left[0] < 0:
        raise SecurityError(f"the template does too much work (over {MAX_STEPS} steps)")


def weight(value: Any, limit: int = MAX_OUTPUT) -> int:
    """Characters plus items of `value`, nested ones included, counted up to just over `limit`
    (so shared references cannot make this slow). Visited items are charged to the budget."""
    total = 0
    pending: list[Any] = [value]
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, Mapping):
            total += len(item)
            charge(len(item))
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            charge(len(item))
            pending.extend(item)
        else:
            total += 1
    return total


def bounded(value: Any, what: str = "a value") -> Any:
    """`value`, unless it weighs more than `MAX_OUTPUT`."""
    if isinstance(value, str):
        size = len(value)
    elif isinstance(value, list | tuple | set | frozenset | Mapping):
        size = weight(value)
    else:
        return value
    if size > MAX_OUTPUT:
        raise SecurityError(f"{what} would be over the size limit of {MAX_OUTPUT}")
    return value


def _at_most(size: int, what: str) -> None:
    if size > MAX_OUTPUT:
        raise SecurityError(f"{what} would be over the size limit of {MAX_OUTPUT}")


def _width(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        _at_most(value, what)


def budgeted_loop(iterable: Any) -> Iterator[Any]:
    """Every `{% for %}` iterates through this filter: one unit per item."""
    for item in iterable:
        charge()
        yield item


# ---------------------------------------------------------------- operators and formats


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `+`, `*` and `%` whose result would be too large (before computing it)."""
    if operator == "+" and _is_sized(left) and _is_sized(right):
        _at_most(weight(left) + weight(right), "joining two values")
    elif operator == "*":
        for sequence, times in ((left, right), (right, left)):
            if _is_sized(sequence) and _is_int(times):
                _at_most(weight(sequence) * max(times, 0), "repeating a value")
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left, right)


def check_percent_format(template: str, args: Any) -> None:
    """`'%999999999d' % 1` and `'%*d' % (10**9, 1)` are refused; arguments are bounded."""
    for match in _PERCENT_SPEC.finditer(template):
        width, precision, _kind = match.groups()
        if "*" in (width, precision):
            raise SecurityError("'*' widths are not allowed in % formats")
        for number in (width, precision):
            if number:
                _at_most(int(number), "a % format width")
    _at_most(len(template) + weight(args), "a % format")


def check_format_string(template: str, args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    """`'{:999999999}'.format(1)` is refused, and so are nested (computed) widths."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # str.format raises the same error with a clear message
    for _literal, _name, spec, _conversion in fields:
        if spec and "{" in spec:
            raise SecurityError("computed widths ('{:{w}}') are not allowed in formats")
        for number in _NUMBERS.findall(spec or ""):
            _at_most(int(number), "a format width")
    _at_most(len(template) + weight(list(args)) + weight(dict(kwargs)), "a format")


# ---------------------------------------------------------------- str methods


def check_str_call(
    text: str, method: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> None:
    """Before `text.<method>(...)` runs: refuse results that would be too large."""
    if method in ("center", "ljust", "rjust", "zfill"):
        for arg in (*args, *kwargs.values()):
            _width(arg, f"str.{method}()")
    elif method == "replace" and len(args) >= 2:
        _check_replace(text, args[0], args[1], args[2] if len(args) > 2 else -1)
    elif method == "join" and args:
        items = args[0]
        if isinstance(items, list | tuple):
            _at_most(weight(items) + len(text) * len(items), "str.join()")


def _check_replace(text: Any, old: Any, new: Any, count: Any) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    hits = len(text) + 1 if old == "" else text.count(old)
    if _is_int(count) and count >= 0:
        hits = min(hits, count)
    _at_most(len(text) + hits * max(len(new) - len(old), 0), "replace()")


# ---------------------------------------------------------------- filters


def _filter_value(func: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    """(the filtered value, the filter's own arguments), skipping a passed context."""
    passed = getattr(func, "jinja_pass_arg", None)
    skip = 0 if passed is None or not args else 1
    rest = args[skip:]
    return (rest[0] if rest else None), rest[1:]


def _check_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    def arg(index: int, key: str, default: Any = None) -> Any:
        return args[index] if len(args) > index else kwargs.get(key, default)

    if name in ("center", "batch", "slice"):
        _width(arg(0, {"center": "width", "batch": "linecount", "slice": "slices"}[name]), name)
    elif name == "indent":
        prefix = arg(0, "width", 4)
        size = len(prefix) if isinstance(prefix, str) else prefix if _is_int(prefix) else 0
        lines = value.count("\n") + 1 if isinstance(value, str) else 1
        _at_most(weight(value) + lines * size, "indent()")
    elif name == "wordwrap":
        wrap = arg(2, "wrapstring") or "\n"
        width = arg(0, "width", 79)
        if not _is_int(width) or width < 1:
            return
        breaks = weight(value) // width + (value.count(" ") if isinstance(value, str) else 0)
        _at_most(weight(value) + breaks * len(str(wrap)), "wordwrap()")
    elif name == "format" and isinstance(value, str):
        check_percent_format(value, args)
    elif name == "replace":
        _check_replace(value, arg(0, "old"), arg(1, "new"), arg(2, "count", -1))
    elif name == "join" and isinstance(value, list | tuple):
        separator = arg(0, "d", "")
        _at_most(weight(value) + len(str(separator)) * len(value), "join()")
    elif name == "tojson":
        _width(arg(0, "indent"), "tojson()")
        indent = arg(0, "indent")
        _at_most(weight(value) * (1 + (indent if _is_int(indent) else 0)), "tojson()")
    elif name == "sum" and not _is_number(arg(1, "start", 0)):
        raise SecurityError("sum() starts from a number only")


#: Filters whose arguments `_check_filter` looks at; the others only need their result bounded.
CHECKED_FILTERS = frozenset(
    {"center", "batch", "slice", "indent", "wordwrap", "format", "replace", "join", "tojson", "sum"}
)


def guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` with the budget charged, its arguments checked and its result bounded."""
    what = f"the {name} filter's result"

    if name not in CHECKED_FILTERS:  # most filters of a turn (`map`, `default`, `length`...)

        @wraps(func)  # keeps `jinja_pass_arg`, so Jinja passes the same context as before
        def unchecked(*args: Any, **kwargs: Any) -> Any:
            charge()
            return bounded(func(*args, **kwargs), what)

        return unchecked

    @wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        charge()
        value, rest = _filter_value(func, args)
        _check_filter(name, value, rest, kwargs)
        return bounded(func(*args, **kwargs), what)

    return guarded


# ---------------------------------------------------------------- template trees


class LimitTransformer(NodeTransformer):
    """Routes every loop through `budgeted_loop` and every built value through `bounded`."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)  # changes the node's children in place
        node.iter = _filtered(node.iter, LOOP_FILTER)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        return _bounded_node(self, node)

    def visit_List(self, node: nodes.List) -> nodes.Node:
        return _bounded_node(self, node)

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        return _bounded_node(self, node)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        if node.ctx != "load":  # an assignment target (`{% for a, b in ... %}`)
            self.generic_visit(node)
            return node
        return _bounded_node(self, node)


def _bounded_node(transformer: NodeTransformer, node: nodes.Expr) -> nodes.Node:
    transformer.generic_visit(node)
    return _filtered(node, BOUNDED_FILTER)


def _filtered(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple)
