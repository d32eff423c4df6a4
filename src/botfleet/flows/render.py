"""Templates and conditions: Jinja2's sandbox, typed single expressions. Pure, no I/O.

A missing value renders as "" and leaves a `Diagnostic` naming the place (in a condition, one
that is tested or compared does); in strict mode it is a `TemplateError`. A broken template
renders as "" (never a raw `{{ }}`), also with a diagnostic.
A template that works too hard or builds something too large stops early the same way: the
limits (work per render, size of every value, no recursive loops) are in `_sandbox_limits`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache, partial
from itertools import islice
from typing import Any, cast

from jinja2 import Template, TemplateSyntaxError, Undefined, meta, nodes, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.nodes import EvalContext
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from botfleet.domain.errors import TemplateError
from botfleet.domain.instants import elapsed_after
from botfleet.flows._branch_scopes import scoped_branches
from botfleet.flows._issues import did_you_mean
from botfleet.flows._sandbox_limits import (
    BOUNDED_FILTER,
    BUDGET,
    LOOP_FILTER,
    MAX_OUTPUT,
    MAX_STEPS,
    SAFE_STR_METHODS,
    SIZED_OPERAND_FILTER,
    TEXT_PER_STEP,
    LimitTransformer,
    bounded,
    budgeted_loop,
    charge,
    charge_size,
    check_binop,
    check_format_string,
    check_power,
    check_str_call,
    guard_filter,
    guard_test,
    size_cost,
)
from botfleet.flows.date_filter import parse_date
from botfleet.flows.day_filter import day_problem, parse_day, weekday
from botfleet.flows.digits_filter import digits
from botfleet.flows.effects import Diagnostic

__all__ = ["MAX_EXPONENT", "MAX_OUTPUT", "MAX_RANGE", "Renderer"]

#: Upper bound on `range()` inside templates: hostile flows cannot spin the CPU for long.
MAX_RANGE = 1000
#: Upper bound on an integer exponent (`2 ** 1000` is fine; `10 ** 10**8` is a denial of service).
MAX_EXPONENT = 1000

_missing: ContextVar[list[str] | None] = ContextVar("_missing", default=None)
#: True while a condition runs (see `_RecordingUndefined`).
_in_condition: ContextVar[bool] = ContextVar("_in_condition", default=False)
_SINGLE_EXPR = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)


class _RecordingUndefined(Undefined):
    """Renders as "" but records the missing name, so the caller can warn (or fail, if strict).

    Chainable like `ChainableUndefined` so `data.a.b` with `a` missing is still just "missing".

    In a condition nothing is printed: there, testing, comparing, iterating or measuring a
    missing value records it too, or `condition: "dta.vip"` would just be false, silently.
    `is defined` and `default` look at the type and never get here. In a template, `{% if %}`
    on a missing value stays a quiet test (printing one is what counts).
    """

    __slots__ = ()

    def _record(self) -> None:
        sink = _missing.get()
        if sink is not None:
            sink.append(self._undefined_name or "?")

    def _record_in_condition(self) -> None:
        if _in_condition.get():
            self._record()

    def __str__(self) -> str:
        self._record()
        return ""

    def __bool__(self) -> bool:
        self._record_in_condition()
        return False

    def __eq__(self, other: object) -> bool:
        self._record_in_condition()
        return type(self) is type(other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = Undefined.__hash__  # defining __eq__ would drop it

    # Jinja's Undefined raises on <, <=, >, >=, which read as a broken template, not as the
    # missing value it is.
    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        self._record_in_condition()
        return False

    __le__ = __gt__ = __ge__ = __lt__  # type: ignore[assignment]

    def __iter__(self) -> Iterator[Any]:
        self._record_in_condition()
        return iter(())

    def __len__(self) -> int:
        self._record_in_condition()
        return 0

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        return self

    def __getitem__(self, _name: Any) -> _RecordingUndefined:  # type: ignore[override]
        return self

    def __html__(self) -> str:
        return str(self)


class _FlowEnvironment(ImmutableSandboxedEnvironment):
    """Sandbox where `data.items` means the key "items", not the dict method.

    `*`, `**`, `+` and `%` are checked before they run: `'a' * 10**9`, `10 ** 10**8` or
    `'%999999999d' % 1` would otherwise hold the worker for seconds and gigabytes before any
    output limit applies. Lists and dicts cannot be changed in place (no `.append()`), so a
    template can neither grow a value in a loop nor alter the conversation's stored data.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _is_int(left) and _is_int(right) and abs(left) > 1:
            _check_exponent(right)
            check_power(left, right)
        check_binop(operator, left, right)
        return bounded(super().call_binop(context, operator, left, right))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(obj, "__self__", None)
        # A call may go over its object and its arguments (`l.count(0)`, `s.title()`,
        # `cycler(*l)`): it costs that much.
        given = (*args, *kwargs.values())
        charge(1 + size_cost(owner) + len(given) + sum(size_cost(arg) for arg in given))
        if isinstance(owner, str):
            check_str_call(owner, getattr(obj, "__name__", ""), args, kwargs)
        return bounded(super().call(context, obj, *args, **kwargs), "a call's result")

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and callable(value) and attr not in SAFE_STR_METHODS:
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        template = value.__self__
        sandboxed = wrapper

        def checked(*args: Any, **kwargs: Any) -> str:
            if value.__name__ == "format_map" and args and isinstance(args[0], Mapping):
                check_format_string(template, (), args[0])
            else:
                check_format_string(template, args, kwargs)
            return sandboxed(*args, **kwargs)

        return checked

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        with _nesting_refused():
            tree = super()._parse(source, name, filename)
            for loop in tree.find_all(nodes.For):
                if loop.recursive:  # `loop()` calls recurse without bound; flows never need it
                    raise TemplateSyntaxError("recursive loops are not allowed", loop.lineno)
        return tree

    def _generate(self, source: nodes.Template, *args: Any, **kwargs: Any) -> str:
        # Every compiled template (and condition) goes through here: loops and built values
        # are routed through the budget and the size checks.
        with _nesting_refused():
            return str(super()._generate(LimitTransformer().visit(source), *args, **kwargs))

    def _compile(self, source: str, filename: str) -> Any:
        # Python's own compiler refuses more than 200 nested brackets with a SyntaxError.
        with _nesting_refused():
            return super()._compile(source, filename)


#: Why a template nested too deeply is refused (parsing and compiling recurse per level).
TOO_DEEP = "the template nests too deeply (brackets, filters or operators inside each other)"


@contextmanager
def _nesting_refused() -> Iterator[None]:
    """A template nested too deeply for Jinja's parser and compiler (which recurse once per
    level), or for Python's, is a `TemplateSyntaxError` like any other broken template: a
    `RecursionError` failed the whole flow upload with a 500, and a data plane's start."""
    try:
        yield
    except (RecursionError, SyntaxError):  # Jinja's TemplateSyntaxError is not a SyntaxError
        raise TemplateSyntaxError(TOO_DEEP, 1) from None


def _parse_expression(source: str) -> nodes.Expr:
    """`source` parsed as one expression (what follows it is left in the parser's stream)."""
    with _nesting_refused():
        return Parser(_env, source, state="variable").parse_expression()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_exponent(exponent: int) -> None:
    if exponent > MAX_EXPONENT:
        raise SecurityError(f"exponent {exponent} is over the limit of {MAX_EXPONENT}")


def shared_budget() -> list[int]:
    """One template's work steps, for renders that share them: a template rendered once per
    item of a list as long as a connector makes it would otherwise cost its whole budget that
    many times (a thousand items, seconds of a blocked turn)."""
    return [MAX_STEPS]


def _name_of(value: Undefined) -> str:
    return str(getattr(value, "_undefined_name", None) or "?")


#: Added to the name of a method or function printed instead of a value (no contact's data).
_NOT_A_VALUE = " (a method or function, not a value)"
#: How a missing value looked up by content is named (`data[data.phone]`, `data[contact.id]`).
LOOKED_UP_KEY = "<a looked-up key>"


def _shown_name(name: object, source: str) -> object:
    """`name` when the template's own text has it (or it is no string: an index), else
    `LOOKED_UP_KEY`.

    A value looked up by content is named by what it looked up, which is a contact's name or
    phone number as often as not; the name goes into the data plane's log and a task run's
    answer, where a contact's data must not. Names an author wrote are in the source."""
    if not isinstance(name, str) or name == "?" or name.endswith(_NOT_A_VALUE):
        return name
    if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", source):
        return name
    return LOOKED_UP_KEY


def _bounded_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise SecurityError(f"range() of {len(r)} items is over the limit of {MAX_RANGE}")
    return r


def _shift_time(value: Any, days: float = 0, hours: float = 0, minutes: float = 0) -> str:
    """`{{ "2024-01-09T10:30" | shift_time(days=-1) }}` -> "2024-01-08T10:30:00" (reminders).

    Days keep the wall time ("the day before at the same time"); hours and minutes are elapsed
    time. The two differ only for a value that knows its zone (`now`) across a DST change:
    Python adds to a zone's time on its wall clock, so `now | shift_time(hours=2)` at 01:30 on
    the night the clocks go forward would be 03:30, one real hour later.
    """
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    if days:
        # Only then: adding a timedelta drops `fold`, and `now` in the second pass of a
        # repeated hour (01:30 the second time) would be read as the first, an hour early.
        moment += timedelta(days=days)
    elapsed = timedelta(hours=hours, minutes=minutes)
    if moment.tzinfo is None:  # a wall time with no zone: nothing else to go by
        return (moment + elapsed).isoformat()
    return elapsed_after(moment, elapsed).isoformat()


def _printed(value: Any) -> Any:
    if value is None:
        # A null from a connector or `set_data` (`notes: null`) would print Python's "None"
        # to the user; it is a value that is there and empty, so no warning either.
        return ""
    if callable(value) and not isinstance(value, Undefined):
        # `{{ data.name.title }}` on a string, or `{{ range }}`: printing a method or function
        # would show the user "<built-in method title of str object at 0x7f...>". It is a
        # mistake in the flow, so it renders as nothing and warns, like a missing value.
        name = getattr(value, "__name__", type(value).__name__)
        return _RecordingUndefined(name=f"{name}{_NOT_A_VALUE}")
    value = bounded(value, "a printed value")
    # Output collected in `{% set %}` blocks and macros is only measured once it is whole.
    if isinstance(value, str) and len(value) >= TEXT_PER_STEP:
        charge(len(value) // TEXT_PER_STEP)
    return value


@pass_eval_context
def _finalize(_eval_ctx: EvalContext, value: Any) -> Any:
    """`_printed`, marked as needing the render: Jinja then evaluates no printed expression at
    compile time, where no work budget applies (a flow upload compiles every template)."""
    return _printed(value)


_env = _FlowEnvironment(
    undefined=_RecordingUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    finalize=_finalize,
    # Jinja's optimizer folds constant expressions while compiling: filters then run outside
    # any budget, and trying each level of a chain of filters again made compiling cubic in
    # its length (150 `| sort` took a second, in the control plane's event loop).
    optimized=False,
)
_env.globals["range"] = _bounded_range
del _env.globals["lipsum"]  # lorem ipsum: no use in a flow, and lipsum(n=10**6) runs for minutes
_env.filters["shift_time"] = _shift_time
_env.filters["parse_date"] = parse_date
_env.filters["parse_day"] = parse_day
_env.filters["day_problem"] = day_problem
_env.filters["weekday"] = weekday
_env.filters["digits"] = digits
_env.filters = {name: guard_filter(name, func) for name, func in _env.filters.items()}
_env.filters[LOOP_FILTER] = budgeted_loop
_env.filters[BOUNDED_FILTER] = bounded
_env.filters[SIZED_OPERAND_FILTER] = charge_size
# Jinja types its tests as `function`, which mypy does not take for a callable.
_env.tests = {name: guard_test(cast(Callable[..., Any], f)) for name, f in _env.tests.items()}


#: What every template sees besides the turn's namespaces (`range`, `dict`, `cycler`...).
_GLOBALS: dict[str, Any] = dict(_env.globals)


def _context(template: Template, parent: dict[str, Any]) -> Context:
    """A fresh render context over `parent` (globals and namespaces, merged once per renderer).

    This is what `Template.generate` and a compiled expression's call build, without copying
    the namespaces and iterating the globals' ChainMap on every render. `parent` is never
    written: a template's own `{% set %}` goes to the context's `vars`, new for each render.
    """
    return Context(_env, parent, template.name, template.blocks)


def _render(template: Template, parent: dict[str, Any]) -> str:
    """The template's output, generated lazily; a template that writes more than `MAX_OUTPUT`
    is stopped there and fails (`_over_the_limit`)."""
    parts: list[str] = []
    size = 0
    for chunk in template.root_render_func(_context(template, parent)):
        parts.append(chunk)
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise _over_the_limit()
    return "".join(parts)


def _over_the_limit() -> SecurityError:
    # Failed, not cut: a runaway loop sent 16,384 characters in four messages, unlogged, where
    # a broken template renders empty and is logged (flow-dsl.md, "Template helpers").
    return SecurityError(f"the rendered text would be over the size limit of {MAX_OUTPUT}")


def _evaluate(template: Template, parent: dict[str, Any]) -> Any:
    """The value of a compiled expression (see `_compile_expression_template`)."""
    context = _context(template, parent)
    for _ in template.root_render_func(context):
        pass
    return context.vars["result"]


@lru_cache(maxsize=4096)
def _compile_template(source: str) -> Template:
    return _env.from_string(source)


@lru_cache(maxsize=4096)
def _compile_expression(source: str) -> Callable[..., Any]:
    with _nesting_refused():  # its parser is not `_parse`
        return _env.compile_expression(source, undefined_to_none=False)


@lru_cache(maxsize=4096)
def _compile_expression_template(source: str) -> Template:
    """The template behind `compile_expression`: it assigns the expression to `result`."""
    expression = _compile_expression(source)
    template: Template = expression._template  # type: ignore[attr-defined]
    return template


# ---------------------------------------------------------------- plain lookups without Jinja
#
# Most templates of a flow only print values (`Hi {{ contact.name }}`, `{{ data.slot }}`) and
# most conditions only test one (`data.booking.success`, `not data.days`). Those are run here
# without building a Jinja context: the same steps the code Jinja compiles for them performs
# (look the name up, `environment.getattr` for each dot, `finalize` and `str` for each printed
# value, in order), so results, missing values, errors and size limits are the same. Which
# templates qualify is read from Jinja's own parse tree; anything else runs in Jinja.

#: A dotted name, e.g. ("data", "booking", "success").
_Path = tuple[str, ...]
#: Names Jinja's generated code does not look up in the context.
_SPECIAL_NAMES = frozenset({"self"})


def _path_of(node: nodes.Node) -> _Path | None:
    """`a.b.c` as ("a", "b", "c"), when `node` is nothing but a name and attribute lookups."""
    attributes: list[str] = []
    while isinstance(node, nodes.Getattr) and node.ctx == "load":
        attributes.append(node.attr)
        node = node.node
    if not isinstance(node, nodes.Name) or node.ctx != "load" or node.name in _SPECIAL_NAMES:
        return None
    return (node.name, *reversed(attributes))


def _lookup(path: _Path, parent: dict[str, Any]) -> Any:
    """What Jinja computes for `a.b.c`: the context's `a` (or undefined), then a sandboxed
    `getattr` per dot."""
    value = parent.get(path[0], _NOT_FOUND)
    if value is _NOT_FOUND:
        value = _env.undefined(name=path[0])
    for attribute in path[1:]:
        value = _env.getattr(value, attribute)
    return value


_NOT_FOUND = object()


def _negated(path: _Path, parent: dict[str, Any]) -> bool:
    return not _lookup(path, parent)


def _printed_segments(segments: tuple[str | _Path, ...], parent: dict[str, Any]) -> str:
    """`_render` for a template of text and printed lookups (see `_text_segments`)."""
    parts: list[str] = []
    size = 0
    for segment in segments:
        chunk = segment if isinstance(segment, str) else str(_printed(_lookup(segment, parent)))
        parts.append(chunk)
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise _over_the_limit()
    return "".join(parts)


def _text_segments(source: str) -> tuple[str | _Path, ...] | None:
    """The template as literal text and printed lookups, or None when it does anything else."""
    try:
        tree = _env.parse(source)
    except JinjaTemplateError:
        return None
    segments: list[str | _Path] = []
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            return None
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):  # newlines already normalised by Jinja
                if segments and isinstance(segments[-1], str):
                    segments[-1] += node.data
                else:
                    segments.append(node.data)
                continue
            path = _path_of(node)
            if path is None:
                return None
            segments.append(path)
    return tuple(segments)


def _expression_lookup(source: str) -> tuple[bool, _Path] | None:
    """(negated, path) when the expression is only `a.b.c` or `not a.b.c`."""
    parser = Parser(_env, source, state="variable")
    try:
        with _nesting_refused():
            node = parser.parse_expression()
        if not parser.stream.eos:
            return None
    except JinjaTemplateError:
        return None
    negated = isinstance(node, nodes.Not)
    path = _path_of(node.node if isinstance(node, nodes.Not) else node)
    return None if path is None else (negated, path)


@lru_cache(maxsize=4096)
def _text_program(source: str) -> Callable[[dict[str, Any]], str]:
    """How to render `source` against a parent dict (raises its syntax error, uncached)."""
    segments = _text_segments(source)
    if segments is not None:
        return partial(_printed_segments, segments)
    return partial(_render, _compile_template(source))


@lru_cache(maxsize=4096)
def _expression_program(source: str) -> Callable[[dict[str, Any]], Any]:
    """How to evaluate the expression `source` against a parent dict."""
    lookup = _expression_lookup(source)
    if lookup is not None:
        negated, path = lookup
        return partial(_negated if negated else _lookup, path)
    return partial(_evaluate, _compile_expression_template(source))


@lru_cache(maxsize=4096)
def _lone_expression(source: str) -> str | None:
    """The expression of a template that is exactly one `{{ expr }}`, else None."""
    match = _SINGLE_EXPR.match(source)
    return match.group("expr") if match else None


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


@dataclass(frozen=True, slots=True)
class Parsed:
    """A template (a condition, with `expression`) parsed once for all the static checks.

    `tree` is Jinja's parse tree when the source parses (else None), finished like the one
    `Environment.parse` gives (an environment on every node); the checks only read it. `error`
    is its syntax error (`template_syntax_error`, `condition_syntax_error`), or None.
    """

    tree: nodes.Node | None
    error: str | None


def parse_checked(source: str, *, expression: bool = False) -> Parsed:
    """`source` parsed once, and its syntax error: an unknown filter or test, or what Jinja
    only finds when compiling (compiled through the renderer's own cache, which a data plane
    then finds filled for every template of its flow)."""
    tree: nodes.Node | None = None
    try:
        with _nesting_refused():  # the walk over the tree recurses too
            tree = _parse_for_checks(source, expression=expression)
            problem = _unknown_filter_or_test(tree)
        if problem is None and expression:
            _compile_expression(source)  # also refuses anything after the expression
        elif problem is None:
            _compile_template(source)
    except TemplateSyntaxError as exc:
        problem = exc.message
    kind = "condition" if expression else "template"
    return Parsed(tree, None if problem is None else f"{kind} syntax error: {problem}")


def template_syntax_error(source: str) -> str | None:
    """The syntax error of a template string (an unknown filter or test included), or None."""
    return parse_checked(source).error


def condition_syntax_error(source: str) -> str | None:
    return parse_checked(source, expression=True).error


def _unknown_filter_or_test(tree: nodes.Node) -> str | None:
    """The first filter or test `tree` uses that does not exist.

    Compiling finds most of them, but not inside `{% if %}` blocks or conditional expressions,
    which Jinja leaves to fail when they run.
    """
    for node in (tree, *tree.find_all((nodes.Filter, nodes.Test))):
        if not isinstance(node, nodes.Filter | nodes.Test):
            continue  # `tree` itself, when it is neither
        kind, known = (
            ("filter", _env.filters) if isinstance(node, nodes.Filter) else ("test", _env.tests)
        )
        if node.name not in known:
            public = [name for name in known if not name.startswith("_")]
            return f"unknown {kind} {node.name!r}{did_you_mean(node.name, public)}"
    return None


def undeclared_in(tree: nodes.Node) -> set[str]:
    """Top-level names a template's (or a condition's) tree from `parse_checked` reads that it
    does not set itself (`{% set %}`, a loop's variable, a macro's argument) and that are not
    globals (`range`, `namespace`...): what it needs the turn's namespaces for. A name set in
    an `{% if %}` branch counts as set after it. The tree is left as it is; empty when it
    nests too deeply."""
    if isinstance(tree, nodes.Expr):
        # Only the wrapper gets its environment here: the expression's nodes have theirs.
        output = nodes.Output([tree], environment=_env)
        tree = nodes.Template([output], lineno=1, environment=_env)
    if not isinstance(tree, nodes.Template):
        return set()  # `parse_checked` gives a template or an expression
    undeclared = _tracked(tree)
    if not undeclared:
        return undeclared
    try:
        with _nesting_refused():
            scoped = scoped_branches(tree, _env)
    except TemplateSyntaxError:
        return undeclared
    if scoped is None:
        return undeclared
    # Jinja reads a name an `{% if %}` branch sets from the context too, though it is only
    # missing where no set reaches (`_branch_scopes`): those names are dropped. Only dropped:
    # the scoped tree also finds a few reads Jinja's tracking passes over (a loop's `{{ h }}`
    # before a later top-level `set h`), not reported without a set in a branch either. A
    # tree the scoped one cannot be tracked for (too deep; an `{% extends %}`, refused
    # anyway, then in a scope) keeps every name: a wrong "unknown name" beats a missed one.
    return undeclared & _tracked(scoped, failed=undeclared)


def _tracked(tree: nodes.Template, *, failed: set[str] | None = None) -> set[str]:
    """What Jinja's tracking finds `tree` reads from the context; `failed` (empty unless
    given) when it nests too deeply to track."""
    tracker = _NameTracker(_env)
    try:
        with _nesting_refused():  # the walk over the tree recurses too
            tracker.visit(tree)
    except TemplateSyntaxError:
        return set() if failed is None else failed
    return set(tracker.undeclared_identifiers)


def template_lookup(value: Any, key: str, *, item: bool = False) -> Any:
    """What a template's `value.key` (with `item`, `value['key']`) is: the renderer's own
    lookup, so a static check asks the sandbox rather than copying its rules (a dot on a
    mapping reads its key only, `['key']` falls back to a method the sandbox lets through). An
    `Undefined` when it gives nothing: a missing key, a method the sandbox refuses."""
    return _env.getitem(value, key) if item else _env.getattr(value, key)


def template_can_call(value: Any) -> bool:
    """Whether a template calling `value` (a `template_lookup` result) gets past the sandbox."""
    return not isinstance(value, Undefined) and callable(value) and _env.is_safe_callable(value)


def _parse_for_checks(source: str, *, expression: bool) -> nodes.Node:
    if not expression:
        return _env.parse(source)
    # As `Parser.parse` does for a template, so that no check has to write to the tree.
    return _parse_expression(source).set_environment(_env)


class _NameTracker(meta.TrackingCodeGenerator):
    """What `meta.find_undeclared_variables` runs, without Jinja's optimizer, which it turns on
    whatever the environment says: it ran filters on constants, and retried every link of a
    chain of filters (cubic in its length: seconds for one template of a flow upload)."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.optimizer = None


class Renderer:
    """Renders templates against one turn's namespaces and collects diagnostics."""

    def __init__(
        self,
        variables: Mapping[str, Any],
        *,
        strict: bool = False,
        sink: list[Diagnostic],
        budget: list[int] | None = None,
    ) -> None:
        self.variables = variables
        self.strict = strict
        self.sink = sink
        #: The work steps its renders share (`shared_budget`); None: each render its own.
        self._budget = budget
        # Globals first, so the namespaces win, as in Jinja's own contexts.
        self._parent: dict[str, Any] = {**_GLOBALS, **variables}

    def with_names(
        self, names: Mapping[str, Any], *, sink: list[Diagnostic], budget: list[int] | None = None
    ) -> Renderer:
        """A renderer of the same namespaces and strictness that also reads `names` (an
        action's own, such as `send_dynamic_options`' `item`), reporting to `sink`; `budget`
        (`shared_budget()`) when one template is rendered many times, once per item."""
        return Renderer({**self.variables, **names}, strict=self.strict, sink=sink, budget=budget)

    def text(self, source: str, where: str) -> str:
        if not is_template(source):
            return source
        return str(self._run(_text_program, source, where, ""))

    def value(self, value: Any, where: str) -> Any:
        """Render a param/set_data value: a lone `{{ expr }}` keeps its type; recurse into
        mappings and lists; non-strings pass through."""
        if isinstance(value, str):
            expr = _lone_expression(value)
            if expr is not None:
                as_data = partial(self._as_data, where=where, source=expr)
                return self._run(_expression_program, expr, where, "", finish=as_data)
            return self.text(value, where)
        if isinstance(value, Mapping):
            return {k: self.value(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return self._as_data(value, where)

    def _as_data(self, value: Any, where: str, source: str = "") -> Any:
        """A lone expression's result as JSON data, the only thing `data`, params and tasks
        can hold (the stores refuse anything else, which would fail the whole turn)."""
        if isinstance(value, Undefined):
            name = _shown_name(_name_of(value), source)
            self._report("template_missing_value", where, f"missing value {name!r}")
            return ""
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            if math.isfinite(value):
                return value
            self._report("template_failed", where, f"{value} is not a finite number")
            return ""
        if isinstance(value, datetime | date | time):
            return value.isoformat()
        if isinstance(value, Mapping):
            return {str(k): self._as_data(v, f"{where}.{k}", source) for k, v in value.items()}
        if isinstance(value, list | tuple | range | Iterator):
            items = list(islice(value, MAX_RANGE + 1))
            if len(items) > MAX_RANGE:
                self._report("template_failed", where, f"more than {MAX_RANGE} items")
                return ""
            return [self._as_data(v, f"{where}[{i}]", source) for i, v in enumerate(items)]
        self._report("template_failed", where, f"a {type(value).__name__} is not data")
        return ""

    def condition(self, source: str, where: str) -> bool:
        expr = source.strip()
        inner = _lone_expression(expr)
        if inner is not None:  # tolerate `condition: "{{ data.x }}"`
            expr = inner
        token = _in_condition.set(True)
        try:
            return bool(self._run(_expression_program, expr, where, False, finish=bool))
        finally:
            _in_condition.reset(token)

    def _run(
        self,
        program_of: Callable[[str], Callable[[dict[str, Any]], Any]],
        source: str,
        where: str,
        on_error: Any,
        finish: Callable[[Any], Any] | None = None,
    ) -> Any:
        """`program_of(source)` run against the namespaces with a fresh work budget (see
        `_sandbox_limits.Budget`), then `finish` on its result; a failure is reported at
        `where` and gives `on_error`.

        `finish` runs inside too: a result can be lazy (`map`, `select` give generators), and
        its filters only run when it is read.
        """
        missing: list[str] = []
        token = _missing.set(missing)
        try:
            budget = BUDGET.set(self._budget if self._budget is not None else [MAX_STEPS])
            try:
                result = program_of(source)(self._parent)
                if finish is not None:
                    result = finish(result)
            finally:
                BUDGET.reset(budget)
        except TemplateError:  # strict mode, reported by `finish` with its own place
            raise
        except RecursionError:  # a macro calling itself
            self._report("template_failed", where, "RecursionError: calls nest too deeply")
            return on_error
        except Exception as exc:
            # Filters trust their input: `truncate(2)` asserts, `dictsort` on a list raises
            # AttributeError, and so on. Whatever a template raises is a mistake in the flow,
            # which must cost the template, never the turn (sandbox refusals included).
            self._report("template_failed", where, f"{type(exc).__name__}: {exc}")
            return on_error
        finally:
            _missing.reset(token)
        if isinstance(result, str) and len(result) > MAX_OUTPUT:
            self._report("template_failed", where, f"SecurityError: {_over_the_limit()}")
            return on_error
        if missing:
            for name in dict.fromkeys(_shown_name(name, source) for name in missing):
                self._report("template_missing_value", where, f"missing value {name!r}")
        return result

    def _report(self, event: str, where: str, detail: str) -> None:
        if self.strict:
            raise TemplateError(where, detail)
        self.sink.append(Diagnostic("warning", event, where, detail))
