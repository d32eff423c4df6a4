"""Static checks of templates and conditions. Pure.

Each must parse (an unknown filter or test included) and read only names a turn provides
(`dta.vip` would be missing at every turn: in a condition, false without a word). A problem
inside a text written over several lines of the file (`body: >-` then lines) is placed on the
line that holds it, not on its key's, and the common Jinja slips get a hint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from botfleet.flows._failed_reads import FailedRead, describe, failed_reads_in
from botfleet.flows._issues import IssueCollector, did_you_mean
from botfleet.flows.render import (
    condition_syntax_error,
    is_template,
    parse_checked,
    template_syntax_error,
    undeclared_in,
)
from botfleet.flows.yaml_lines import TextLines, index_path, key_path

#: The names a template or a condition reads from the turn (docs/flow-dsl.md, "Templates and
#: conditions"; `turn.TurnBuilder._build_variables`). A task's carried `data` is under `data`.
NAMESPACES = ("data", "message", "contact", "tenant", "today", "now")
#: Names only one field reads, by name, with where it is: the field's check is given it
#: (`check_templates(..., names=...)`), and anywhere else it is unknown with this hint.
FIELD_NAMES = {"item": "send_dynamic_options' `description`"}

# Mirrors `Renderer.condition`, which accepts a condition wrapped in `{{ }}`, and
# `Renderer.value`, which keeps a lone `{{ expr }}`'s value as data.
_WRAPPED = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)

# What to do about the syntax errors authors make most, by Jinja's words.
_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"unexpected '\}'$"),
        "a `{{ ... }}` closed with one brace: close it with two, `}}`",
    ),
    (
        re.compile(r"unexpected end of template, expected 'end of print statement'"),
        "a `{{` is not closed: close it with `}}`",
    ),
    (
        re.compile(r"The innermost block that needs to be closed is '(?P<tag>\w+)'"),
        "add `{% end<tag> %}` where the block ends",
    ),
    (
        re.compile(r"expected token 'end of print statement', got '[^']*'"),
        "something follows the value inside `{{ }}`: close it with `}}` first, or join "
        "values with `~` (`{{ a ~ ' ' ~ b }}`)",
    ),
    (
        re.compile(r"expected token 'end of statement block', got 'if'"),
        "write `{% elif ... %}`, not `{% else if ... %}`",
    ),
    (
        re.compile(r"expected token 'end of statement block', got '='"),
        "compare with `==` (a single `=` only assigns, in `{% set %}`)",
    ),
    (
        re.compile(r"^condition syntax error: unexpected 'end of template'$"),
        "the condition stops in the middle: something is missing after its last operator "
        "(e.g. `data.x ==` needs the value to compare with)",
    ),
    (
        re.compile(r"tag name expected"),
        "`{%` must be followed by a tag such as `if`, `for` or `set`",
    ),
)


def check_templates(
    collector: IssueCollector,
    path: str,
    value: Any,
    *,
    as_data: bool = False,
    names: tuple[str, ...] = (),
) -> None:
    """Check every template string in `value`, recursing into mappings and lists; `as_data`
    when the engine renders them as data (`set_data`, `params`: a lone `{{ }}` keeps its
    type, `Renderer.value`); `names`: what the engine gives these templates besides the
    turn's namespaces (`FIELD_NAMES`)."""
    for where, text in templates_in(path, value):
        _check_source(collector, where, text, 0, expression=False, as_data=as_data, names=names)


def templates_in(path: str, value: Any) -> Iterator[tuple[str, str]]:
    """(path, text) of every template string in `value`, mappings and lists walked."""
    if isinstance(value, str):
        if is_template(value):
            yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from templates_in(key_path(path, key), item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from templates_in(index_path(path, index), item)


def check_condition(collector: IssueCollector, path: str, condition: str) -> None:
    """Check a condition (an expression; one wrapped in `{{ }}` is accepted, as it runs)."""
    match = _WRAPPED.match(condition)
    if match is None:
        _check_source(collector, path, condition, 0, expression=True)
    else:
        _check_source(collector, path, match["expr"], match.start("expr"), expression=True)


@dataclass(frozen=True, slots=True)
class _Findings:
    """What the checks find in one source, wherever it stands: its syntax error, else the
    names it reads that no turn provides and its counted `failed`/`error` reads."""

    error: str | None
    unknown: tuple[str, ...]
    reads: tuple[FailedRead, ...]


def _findings(
    source: str,
    keys: Mapping[str, str],
    *,
    expression: bool,
    as_data: bool,
    names: tuple[str, ...] = (),
) -> _Findings:
    # Parsed once for every check; none of them writes to the tree (`render.Parsed`).
    parsed = parse_checked(source, expression=expression)
    if parsed.error is not None or parsed.tree is None:
        return _Findings(parsed.error, (), ())
    unknown = tuple(sorted(undeclared_in(parsed.tree) - {*NAMESPACES, *names}))
    # Kept as data only when the renderer takes it for a lone `{{ }}` (`{{ '}}' }}` is not).
    lone = as_data and _WRAPPED.match(source) is not None
    reads = failed_reads_in(parsed.tree, keys, expression=expression, as_data=lone) if keys else []
    return _Findings(None, unknown, tuple(reads))


def _check_source(
    collector: IssueCollector,
    path: str,
    source: str,
    shift: int,
    *,
    expression: bool,
    as_data: bool = False,
    names: tuple[str, ...] = (),
) -> None:
    """`source` starts at offset `shift` of the value at `path` (past a condition's `{{`)."""
    keys = collector.continue_keys
    found = collector.once(
        (_check_source, source, expression, as_data, names),
        partial(_findings, source, keys, expression=expression, as_data=as_data, names=names),
    )
    texts = collector.texts.get(path)
    if found.error is not None:
        error_of = condition_syntax_error if expression else template_syntax_error
        line = None if texts is None else _error_line(texts, source, shift, found.error, error_of)
        collector.error(path, _with_hint(found.error), line=line)
        return
    for name in found.unknown:
        line = None
        if texts is not None:
            place = re.search(rf"(?<![\w.]){re.escape(name)}\b", source)
            line = texts.line_at(shift + place.start()) if place else None
        collector.error(path, _unknown_name(name, names), line=line)
    for read in found.reads:
        collector.warning(path, describe(read, keys[read.key]))


def _unknown_name(name: str, names: tuple[str, ...] = ()) -> str:
    readable = (*NAMESPACES, *names)
    known = f"{', '.join(readable[:-1])} and {readable[-1]}"
    hint = did_you_mean(name, readable)
    where = "this template reads" if names else "templates and conditions read"
    message = f"unknown name {name!r}{hint}: {where} {known}"
    if name in FIELD_NAMES:
        message += f" (`{name}` only in {FIELD_NAMES[name]})"
    elif not hint:
        message += f"; a value the flow stores is `data.{name}`"
    return message


def _with_hint(error: str) -> str:
    for pattern, hint in _HINTS:
        match = pattern.search(error)
        if match is not None:
            tag = match.groupdict().get("tag") or ""
            return f"{error.rstrip('.')}: {hint.replace('<tag>', tag)}"
    return error


def _error_line(
    texts: TextLines,
    source: str,
    shift: int,
    error: str,
    error_of: Callable[[str], str | None],
) -> int | None:
    """The line of the file where `source` (from offset `shift` of a text written over several
    lines) goes wrong: the first line whose text, with all before it, gives the same error (so
    an unclosed `{% if %}` is placed on the line that opens it). A condition that ends too
    soon goes wrong on its last line."""
    if error_of is condition_syntax_error and "end of template" in error:
        return texts.line_at(shift + max(len(source.rstrip()) - 1, 0))
    for line, end in texts.line_ends(shift + len(source)):
        if end > shift and error_of(source[: end - shift]) == error:
            return line
    return None
