"""Templates and conditions: Jinja2's sandbox, typed single expressions. Pure, no I/O.

A missing value renders as "" and leaves a `Diagnostic` naming the place; in strict mode it is a
`TemplateError`. A broken template renders as "" (never a raw `{{ }}`), also with a diagnostic.
A template that works too hard or builds something too large stops early the same way: the
limits (work per render, size of every value, no recursive loops) are in `_sandbox_limits`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from typing import Any

from jinja2 import Template, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from botfleet.domain.errors import TemplateError
from botfleet.flows._sandbox_limits import (
    BOUNDED_FILTER,
    LOOP_FILTER,
    MAX_OUTPUT,
    SAFE_STR_METHODS,
    Budget,
    LimitTransformer,
    bounded,
    budgeted_loop,
    charge,
    check_binop,
    check_format_string,
    check_str_call,
    guard_filter,
)
from botfleet.flows.effects import Diagnostic

__all__ = ["MAX_EXPONENT", "MAX_OUTPUT", "MAX_RANGE", "Renderer"]

#: Upper bound on `range()` inside templates: hostile flows cannot spin the CPU for long.
MAX_RANGE = 1000
#: Upper bound on an integer exponent (`2 ** 1000` is fine; `10 ** 10**8` is a denial of service).
MAX_EXPONENT = 1000

_missing: ContextVar[list[str] | None] = ContextVar("_missing", default=None)
_SINGLE_EXPR = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)


class _RecordingUndefined(Undefined):
    """Renders as "" but records the missing name, so the caller can warn (or fail, if strict).

    Chainable like `ChainableUndefined` so `data.a.b` with `a` missing is still just "missing".
    """

    __slots__ = ()

    def __str__(self) -> str:
        sink = _missing.get()
        if sink is not None:
            sink.append(self._undefined_name or "?")
        return ""

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
        check_binop(operator, left, right)
        return bounded(super().call_binop(context, operator, left, right))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        charge()
        owner = getattr(obj, "__self__", None)
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
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            if loop.recursive:  # `loop()` calls recurse without bound; flows never need it
                raise TemplateSyntaxError("recursive loops are not allowed", loop.lineno)
        return tree

    def _generate(self, source: nodes.Template, *args: Any, **kwargs: Any) -> str:
        # Every compiled template (and condition) goes through here: loops and built values
        # are routed through the budget and the size checks.
        return str(super()._generate(LimitTransformer().visit(source), *args, **kwargs))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_exponent(exponent: int) -> None:
    if exponent > MAX_EXPONENT:
        raise SecurityError(f"exponent {exponent} is over the limit of {MAX_EXPONENT}")


def _name_of(value: Undefined) -> str:
    return str(getattr(value, "_undefined_name", None) or "?")


def _bounded_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise SecurityError(f"range() of {len(r)} items is over the limit of {MAX_RANGE}")
    return r


def _shift_time(value: Any, days: float = 0, hours: float = 0, minutes: float = 0) -> str:
    """`{{ "2024-01-09T10:30" | shift_time(days=-1) }}` -> "2024-01-08T10:30:00" (reminders)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    return (moment + timedelta(days=days, hours=hours, minutes=minutes)).isoformat()


def _printed(value: Any) -> Any:
    return bounded(value, "a printed value")


_env = _FlowEnvironment(
    undefined=_RecordingUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    finalize=_printed,
)
_env.globals["range"] = _bounded_range
del _env.globals["lipsum"]  # lorem ipsum: no use in a flow, and lipsum(n=10**6) runs for minutes
_env.filters["shift_time"] = _shift_time
_env.filters = {name: guard_filter(name, func) for name, func in _env.filters.items()}
_env.filters[LOOP_FILTER] = budgeted_loop
_env.filters[BOUNDED_FILTER] = bounded


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
    """The template's output, generated lazily and stopped once over `MAX_OUTPUT`."""
    parts: list[str] = []
    size = 0
    for chunk in template.root_render_func(_context(template, parent)):
        parts.append(chunk)
        size += len(chunk)
        if size > MAX_OUTPUT:
            break
    return "".join(parts)


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
    return _env.compile_expression(source, undefined_to_none=False)


@lru_cache(maxsize=4096)
def _compile_expression_template(source: str) -> Template:
    """The template behind `compile_expression`: it assigns the expression to `result`."""
    expression = _compile_expression(source)
    template: Template = expression._template  # type: ignore[attr-defined]
    return template


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


def template_syntax_error(source: str) -> str | None:
    """The syntax error of a template string, or None when it parses."""
    try:
        _env.parse(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error: {exc.message}"
    return None


def condition_syntax_error(source: str) -> str | None:
    try:
        _compile_expression(source)
    except TemplateSyntaxError as exc:
        return f"condition syntax error: {exc.message}"
    return None


def referenced_names(source: str) -> set[str]:
    """Top-level variable names a template reads (for validation)."""
    try:
        tree = _env.parse(source)
    except TemplateSyntaxError:
        return set()
    return {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}


class Renderer:
    """Renders templates against one turn's namespaces and collects diagnostics."""

    def __init__(
        self, variables: Mapping[str, Any], *, strict: bool = False, sink: list[Diagnostic]
    ) -> None:
        self.variables = variables
        self.strict = strict
        self.sink = sink
        # Globals first, so the namespaces win, as in Jinja's own contexts.
        self._parent: dict[str, Any] = {**_GLOBALS, **variables}

    def text(self, source: str, where: str) -> str:
        if not is_template(source):
            return source
        return str(self._run(lambda: _render(_compile_template(source), self._parent), where, ""))

    def value(self, value: Any, where: str) -> Any:
        """Render a param/set_data value: a lone `{{ expr }}` keeps its type; recurse into
        mappings and lists; non-strings pass through."""
        if isinstance(value, str):
            match = _SINGLE_EXPR.match(value)
            if match:
                expr = match.group("expr")
                result = self._run(
                    lambda: _evaluate(_compile_expression_template(expr), self._parent), where, ""
                )
                return self._as_data(result, where)
            return self.text(value, where)
        if isinstance(value, Mapping):
            return {k: self.value(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return self._as_data(value, where)

    def _as_data(self, value: Any, where: str) -> Any:
        """A lone expression's result as JSON data, the only thing `data`, params and tasks
        can hold (the stores refuse anything else, which would fail the whole turn)."""
        if isinstance(value, Undefined):
            self._report("template_missing_value", where, f"missing value {_name_of(value)!r}")
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
            return {str(k): self._as_data(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list | tuple | range | Iterator):
            items = list(islice(value, MAX_RANGE + 1))
            if len(items) > MAX_RANGE:
                self._report("template_failed", where, f"more than {MAX_RANGE} items")
                return ""
            return [self._as_data(v, f"{where}[{i}]") for i, v in enumerate(items)]
        self._report("template_failed", where, f"a {type(value).__name__} is not data")
        return ""

    def condition(self, source: str, where: str) -> bool:
        expr = source.strip()
        match = _SINGLE_EXPR.match(expr)
        if match:  # tolerate `condition: "{{ data.x }}"`
            expr = match.group("expr")
        result = self._run(
            lambda: _evaluate(_compile_expression_template(expr), self._parent), where, False
        )
        return bool(result) and not isinstance(result, Undefined)

    def _run(self, thunk: Callable[[], Any], where: str, on_error: Any) -> Any:
        missing: list[str] = []
        token = _missing.set(missing)
        try:
            with Budget():
                result = thunk()
        except RecursionError:  # a macro calling itself
            self._report("template_failed", where, "RecursionError: calls nest too deeply")
            return on_error
        except (JinjaTemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
            self._report("template_failed", where, f"{type(exc).__name__}: {exc}")
            return on_error
        finally:
            _missing.reset(token)
        if isinstance(result, str) and len(result) > MAX_OUTPUT:
            result = result[:MAX_OUTPUT]
        for name in dict.fromkeys(missing):
            self._report("template_missing_value", where, f"missing value {name!r}")
        return result

    def _report(self, event: str, where: str, detail: str) -> None:
        if self.strict:
            raise TemplateError(where, detail)
        self.sink.append(Diagnostic("warning", event, where, detail))
