"""Resource limits of the template sandbox: a per-render work budget and size checks. Pure.

A flow author (a tenant) writes templates; the engine renders them inside a turn. Jinja's
sandbox stops escapes to Python internals but not work: nested loops, doubling strings,
`'%999999999d' % 1` or `'x' | center(10**9)` would hold the process for minutes or exhaust its
memory. Here:

* every render gets a budget of `MAX_STEPS` units: one per loop iteration, function, filter
  or test call, and per item visited by the size checks (`Budget`). Work proportional to a
  value's size costs in proportion too: a filter, test, method or `in` going over a list pays
  one unit per item, over a text one per `TEXT_PER_STEP` characters, and so does printing a
  text and each loop iteration's literal text. Otherwise `[0] * 8000 | selectattr(...)` in a
  loop held the process for minutes at one unit per call, and `{% set %}` blocks or macros
  collected hundreds of megabytes of output before any size check saw it;
* every value a template builds (operators, concatenation, list and dict literals, call and
  filter results, printed values) weighs at most `MAX_OUTPUT` (its characters and items,
  nested ones included), and operations that multiply sizes (`*`, `%` and `format` widths,
  `center`, `replace`, `join`, `indent`, `wordwrap`, `batch`, `slice`, `tojson`) are checked
  before they run, so nothing large is ever allocated;
* integers stay under `MAX_INT_BITS`: `*` and `**` are checked before they run (squaring a
  number in a loop doubles its size each time, and `(10 ** 1000) ** 1000 ** ...` takes minutes).

Breaking a limit raises Jinja's `SecurityError`, which the renderer reports like any other
template failure. The numbers are far above what a chat message needs.
"""

from __future__ import annotations

import math
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
#: Characters of text that cost one work unit to go over (filters, methods, `in`, output):
#: C-speed string work is ~50 ns a character at worst (`title`, `wordcount`), so a whole
#: budget of it stays under a fraction of a second.
TEXT_PER_STEP = 64
#: Largest integer a template may build: far above any number a message shows (Python itself
#: refuses to print more than 4300 digits, about 14,300 bits).
MAX_INT_BITS = 16_384

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
SIZED_OPERAND_FILTER = "_sized_operand"
#: Filters whose work does not grow with their input (`length` of a long list is one step).
CONSTANT_COST_FILTERS = frozenset({"length", "count", "first", "last", "random", "default", "d"})
#: What `size_cost` counts by items (the builtins first: `Mapping` is a slower ABC check).
_CONTAINERS = (list, tuple, dict, set, frozenset, range, Mapping)

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


def size_cost(value: Any) -> int:
    """Work units of going over `value` once: one per item of a container, one per
    `TEXT_PER_STEP` characters of a text, nothing for anything else."""
    if isinstance(value, str):
        return len(value) // TEXT_PER_STEP
    if isinstance(value, _CONTAINERS):
        return len(value)
    return 0


def charge_size(value: Any) -> Any:
    """`value` itself, its `size_cost` charged: the right side of `in` and `not in`, which
    Python runs without asking the sandbox."""
    cost = size_cost(value)
    if cost:
        charge(cost)
    return value


def bounded(value: Any, what: str = "a value") -> Any:
    """`value`, unless it weighs more than `MAX_OUTPUT` (or, an integer, `MAX_INT_BITS`)."""
    if isinstance(value, str):
        size = len(value)
    elif isinstance(value, list | tuple | set | frozenset | Mapping):
        size = weight(value)
    elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise SecurityError(f"{what} would be an integer over {MAX_INT_BITS} bits")
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


def budgeted_loop(iterable: Any, cost: int = 1) -> Iterator[Any]:
    """Every `{% for %}` iterates through this filter: `cost` units per item (one, plus the
    literal text its body outputs each time, see `LimitTransformer.visit_For`)."""
    for item in iterable:
        charge(cost)
        yield item


def _at_most_bits(bits: float, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise SecurityError(f"{what} would be an integer over {MAX_INT_BITS} bits")


def check_power(base: int, exponent: int) -> None:
    """Refuse `base ** exponent` whose result would be over `MAX_INT_BITS` (before computing
    it: the exponent limit alone lets `(10 ** 1000) ** 1000` through)."""
    if exponent > 0 and abs(base) > 1:
        _at_most_bits(exponent * math.log2(abs(base)), "a power")


# ---------------------------------------------------------------- operators and formats


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `+`, `*` and `%` whose result would be too large (before computing it)."""
    if operator == "+" and _is_sized(left) and _is_sized(right):
        _at_most(weight(left) + weight(right), "joining two values")
    elif operator == "*":
        if _is_int(left) and _is_int(right):
            _at_most_bits(left.bit_length() + right.bit_length(), "a product")
            return
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


def _charged_input(func: Callable[..., Any], args: tuple[Any, ...], sized: bool) -> tuple[Any, ...]:
    """`args` of a filter call, its cost charged: one unit, plus the filtered value's
    `size_cost` when `sized`. A lazy value (the generator `map` or `select` gives) has no size
    yet: it is passed on through `budgeted_loop`, so each item it yields is charged."""
    skip = 0 if getattr(func, "jinja_pass_arg", None) is None or not args else 1
    value = args[skip] if len(args) > skip else None
    if isinstance(value, Iterator):
        charge()
        return (*args[:skip], budgeted_loop(value), *args[skip + 1 :])
    charge((1 + size_cost(value)) if sized else 1)
    return args


def guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` with the budget charged (by the size of what it filters, see `_charged_input`),
    its arguments checked and its result bounded."""
    what = f"the {name} filter's result"
    sized = name not in CONSTANT_COST_FILTERS

    if name not in CHECKED_FILTERS:  # most filters of a turn (`map`, `default`, `length`...)

        @wraps(func)  # keeps `jinja_pass_arg`, so Jinja passes the same context as before
        def unchecked(*args: Any, **kwargs: Any) -> Any:
            return bounded(func(*_charged_input(func, args, sized), **kwargs), what)

        return unchecked

    @wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        args = _charged_input(func, args, sized)
        value, rest = _filter_value(func, args)
        _check_filter(name, value, rest, kwargs)
        return bounded(func(*args, **kwargs), what)

    return guarded


def guard_test(func: Callable[..., Any]) -> Callable[..., Any]:
    """A test (`is in`, `is sameas`...) with one unit charged, plus the `size_cost` of its
    operands: `select` and `reject` call one per item, and `x is in l` goes over `l`."""

    @wraps(func)
    def charged(*args: Any, **kwargs: Any) -> Any:
        charge(1 + sum(size_cost(arg) for arg in args))
        return func(*args, **kwargs)

    return charged


# ---------------------------------------------------------------- template trees


class LimitTransformer(NodeTransformer):
    """Routes every loop through `budgeted_loop`, every built value through `bounded` and the
    container of every `in` through `charge_size`."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)  # changes the node's children in place
        # Literal text is output without a call the budget sees: each iteration pays for the
        # body's, or `{% set x %}` around a loop of a large literal would build gigabytes.
        cost = [nodes.Const(1 + _literal_length(node.body) // TEXT_PER_STEP)]
        node.iter = nodes.Filter(node.iter, LOOP_FILTER, cost, [], None, None, lineno=node.lineno)
        return node

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        for operand in node.ops:
            if operand.op in ("in", "notin"):
                operand.expr = _filtered(operand.expr, SIZED_OPERAND_FILTER)
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


def _literal_length(body: list[nodes.Node]) -> int:
    """Characters of literal text in `body`, nested blocks included (a nested loop's is
    counted again there, for each of its own iterations)."""
    return sum(
        len(data.data)
        for statement in body
        for data in (statement, *statement.find_all(nodes.TemplateData))
        if isinstance(data, nodes.TemplateData)
    )


def _filtered(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple)
