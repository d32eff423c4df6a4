"""Static checks of templates and conditions. Pure.

Each must parse (an unknown filter or test included), read only names a turn provides
(`dta.vip` would be missing at every turn: in a condition, false without a word) and ask
nothing the sandbox never gives (`_unrunnable_checks`: `{% include %}`, `tenant.keys()`). A problem
inside a text written over several lines of the file (`body: >-` then lines) is placed on the
line that holds it, not on its key's, and the common Jinja slips get a hint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from jinja2 import nodes

from botfleet.domain.channel_ids import KINDS
from botfleet.flows._failed_reads import FailedRead, describe, failed_reads_in
from botfleet.flows._issues import IssueCollector, did_you_mean
from botfleet.flows._unrunnable_checks import Unrunnable, unrunnable_in
from botfleet.flows.render import (
    condition_syntax_error,
    is_template,
    parse_checked,
    template_syntax_error,
    undeclared_in,
)
from botfleet.flows.texts import TEXTS, TextTable
from botfleet.flows.typed_typos import osa_distance
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
    reads_texts: bool = True,
) -> None:
    """Check every template string in `value`, recursing into mappings and lists; `as_data`
    when the engine renders them as data (`set_data`, `params`: a lone `{{ }}` keeps its
    type, `Renderer.value`); `names`: what the engine gives these templates besides the
    turn's namespaces (`FIELD_NAMES`); `reads_texts` False where `texts` cannot be read (its
    own strings, and `settings.language`, which chooses their language)."""
    for where, text in templates_in(path, value):
        _check_source(
            collector,
            where,
            text,
            0,
            expression=False,
            as_data=as_data,
            names=names,
            reads_texts=reads_texts,
        )


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


def condition_expression(condition: str) -> str:
    """A condition's expression as it runs: the one inside `{{ }}` when it is wrapped."""
    match = _WRAPPED.match(condition)
    return condition if match is None else match["expr"]


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
    #: (the keys read after `texts`, the problem, whether it is an error) of each
    #: `texts.<key>` read that the table cannot give.
    text_reads: tuple[tuple[str, str, bool], ...] = ()
    #: Words compared with `contact.channel` that no channel is (`'web_chat'`).
    channel_words: tuple[str, ...] = ()
    #: The top-level keys read as `data.<key>` (or `data['<key>']`), in order.
    data_reads: tuple[str, ...] = ()
    #: What fails every render: another template loaded, a call nothing answers.
    unrunnable: tuple[Unrunnable, ...] = ()


def _findings(
    source: str,
    keys: Mapping[str, str],
    *,
    expression: bool,
    as_data: bool,
    names: tuple[str, ...] = (),
    table: TextTable | None = None,
) -> _Findings:
    """`table`: the flow's `texts` where templates may read it, else None."""
    # Parsed once for every check; none of them writes to the tree (`render.Parsed`).
    parsed = parse_checked(source, expression=expression)
    if parsed.error is not None or parsed.tree is None:
        return _Findings(parsed.error, (), ())
    undeclared = undeclared_in(parsed.tree)
    readable = {*NAMESPACES, *names, *((TEXTS,) if table is not None else ())}
    unknown = tuple(sorted(undeclared - readable))
    # Kept as data only when the renderer takes it for a lone `{{ }}` (`{{ '}}' }}` is not).
    lone = as_data and _WRAPPED.match(source) is not None
    reads = failed_reads_in(parsed.tree, keys, expression=expression, as_data=lone) if keys else []
    text_reads: tuple[tuple[str, str, bool], ...] = ()
    if table is not None and TEXTS in undeclared:
        text_reads = tuple(_text_read_problems(parsed.tree, table))
    words = tuple(_unknown_channel_words(parsed.tree)) if "contact" in undeclared else ()
    data_reads = tuple(_data_keys_read(parsed.tree)) if "data" in undeclared else ()
    unrunnable = tuple(unrunnable_in(parsed.tree, source))
    return _Findings(None, unknown, tuple(reads), text_reads, words, data_reads, unrunnable)


def _by_length(written: frozenset[str]) -> dict[int, list[str]]:
    """The keys by their length, sorted (a warning names the same key whatever the order)."""
    index: dict[int, list[str]] = {}
    for key in sorted(written):
        index.setdefault(len(key), []).append(key)
    return index


def _typo_of(key: str, written: Mapping[int, list[str]]) -> str | None:
    """The one key of `written` that `key` is a typo of (`plaet` of `plate`: one edit, two
    from eight letters), else None. Tighter than a "did you mean": a key read but set by none
    of the flow may come with a task's data from outside (`POST /run-task`), and is then no
    mistake; a near miss of a key the flow does set is the mistake worth a warning. Compared
    only with keys of a length an edit or two away, and with at most `MAX_TYPO_CANDIDATES`
    of them: a hostile flow of thousands of keys each way costs no more than a few."""
    if len(key) < 4:
        return None
    most = 2 if len(key) >= 8 else 1
    near: list[str] = []
    alike = (w for n in range(len(key) - most, len(key) + most + 1) for w in written.get(n, ()))
    for tried, other in enumerate(alike, start=1):
        if tried > MAX_TYPO_CANDIDATES:
            return None  # too many alike to tell: no warning rather than work without end
        if osa_distance(key, other, most) <= most:
            near.append(other)
    return near[0] if len(near) == 1 else None


#: The most keys of a like length a read is compared with (see `_typo_of`).
MAX_TYPO_CANDIDATES = 64


def _data_keys_read(tree: nodes.Node) -> Iterator[str]:
    """The top-level keys `data.<key>` and `data['<key>']` read, once each (a name bound to
    `data` is not followed: a typo is in what was written)."""
    seen: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = getattr(node, "node", None)
        if not (isinstance(target, nodes.Name) and target.name == "data"):
            continue
        if isinstance(node, nodes.Getattr):
            key = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            key = node.arg.value
        else:
            continue
        if not isinstance(key, str):
            continue
        if key not in seen:
            seen.add(key)
            yield key


def _is_contact_channel(node: nodes.Node) -> bool:
    return (
        isinstance(node, nodes.Getattr)
        and node.attr == "channel"
        and isinstance(node.node, nodes.Name)
        and node.node.name == "contact"
    )


def _unknown_channel_words(tree: nodes.Node) -> Iterator[str]:
    """The strings a template compares `contact.channel` with (`==`, `!=`, `in [...]`) that
    no channel kind is: such a comparison never holds (or always), a typo the validator can
    see since the kinds are few (`KINDS`)."""
    # A condition's tree may be the comparison itself, which `find_all` does not yield.
    own = [tree] if isinstance(tree, nodes.Compare) else []
    for compare in (*own, *tree.find_all(nodes.Compare)):
        operands = [compare.expr, *(operand.expr for operand in compare.ops)]
        if not any(_is_contact_channel(operand) for operand in operands):
            continue
        for operand in operands:
            consts = operand.items if isinstance(operand, nodes.List | nodes.Tuple) else [operand]
            for const in consts:
                value = const.value if isinstance(const, nodes.Const) else None
                if isinstance(value, str) and value not in KINDS:
                    yield value


def _text_read_problems(tree: nodes.Node, table: TextTable) -> Iterator[tuple[str, str, bool]]:
    """What is wrong with each `texts.<key>` the template reads: a key no language has (an
    error: it is a missing value at every turn), a group read whole (a warning)."""
    for chain in _texts_chains(tree):
        prefix = ""
        for key in chain:
            if key is None:  # `texts[data.key]`: only known when it runs
                break
            dotted = f"{prefix}{key}"
            if dotted in table.keys:
                break
            if dotted not in table.groups:
                children = {
                    known[len(prefix) :].split(".", 1)[0]
                    for known in (*table.keys, *table.groups)
                    if known.startswith(prefix)
                }
                yield (
                    dotted,
                    f"reads {TEXTS}.{dotted}, a text no language of `{TEXTS}` has"
                    f"{did_you_mean(key, children)}: it would render as a missing value; add "
                    f"it under `{TEXTS}.{table.default}` (the default language) and the others",
                    True,
                )
                break
            prefix = f"{dotted}."
        else:
            shown = f"{TEXTS}.{prefix[:-1]}" if prefix else TEXTS
            yield (
                prefix[:-1],
                f"reads {shown} whole, which holds texts rather than being one: read one of "
                f"its texts, `{shown}.<key>`",
                False,
            )


def _texts_chains(node: nodes.Node) -> Iterator[tuple[str | None, ...]]:
    """The keys after `texts` of every read of it, outermost first (`texts.menu.book` is
    ("menu", "book"); a key only known when it runs, `texts[data.key]`, is None)."""
    keys: list[str | None] = []
    inner = node
    while isinstance(inner, nodes.Getattr | nodes.Getitem) and inner.ctx == "load":
        if isinstance(inner, nodes.Getattr):
            keys.append(inner.attr)
        else:
            arg = inner.arg
            keys.append(
                arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else None
            )
        inner = inner.node
    if isinstance(inner, nodes.Name) and inner.name == TEXTS and inner.ctx == "load":
        yield tuple(reversed(keys))
        return
    for child in node.iter_child_nodes():
        yield from _texts_chains(child)


def _check_source(
    collector: IssueCollector,
    path: str,
    source: str,
    shift: int,
    *,
    expression: bool,
    as_data: bool = False,
    names: tuple[str, ...] = (),
    reads_texts: bool = True,
) -> None:
    """`source` starts at offset `shift` of the value at `path` (past a condition's `{{`)."""
    keys = collector.continue_keys
    table = collector.text_table if reads_texts else None
    found = collector.once(
        (_check_source, source, expression, as_data, names, table is not None),
        partial(
            _findings,
            source,
            keys,
            expression=expression,
            as_data=as_data,
            names=names,
            table=table,
        ),
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
        collector.error(path, _unknown_name(name, names, collector, reads_texts), line=line)
    for part in found.unrunnable:
        line = None if texts is None else texts.line_at(shift + part.offset)
        report = collector.error if part.is_error else collector.warning
        report(path, part.message, line=line)
    for key, problem, is_error in found.text_reads:
        line = None
        if texts is not None:
            place = re.search(_read_of(key), source)
            line = texts.line_at(shift + place.start()) if place else None
        (collector.error if is_error else collector.warning)(path, problem, line=line)
    for read in found.reads:
        collector.warning(path, describe(read, keys[read.key]))
    written = collector.data_keys or frozenset()
    lengths = collector.once((_by_length,), partial(_by_length, written))
    for key in found.data_reads if collector.data_keys is not None else ():
        if key in written or key.startswith("_"):
            continue
        near = collector.once((_typo_of, key), partial(_typo_of, key, lengths))
        if near is not None:  # a key nothing sets, a typo away from one that is set
            collector.warning(
                path,
                f"data.{key}: no part of this flow sets {key!r} (did you mean {near!r}?); it "
                "is a missing value each turn (no set_data, result_key, extract_suffix_as or "
                "task data writes it)",
            )
    for word in found.channel_words:
        collector.warning(
            path,
            f"compares contact.channel with {word!r}, which no channel is: it is one of "
            f"{', '.join(KINDS)}{did_you_mean(word, KINDS)}",
        )


def _read_of(dotted: str) -> str:
    """A pattern of `texts.<dotted>` as a template writes it (`texts.menu['book']` too)."""
    keys = dotted.split(".") if dotted else []
    steps = (rf"\s*(?:\.\s*{re.escape(k)}\b|\[\s*['\"]{re.escape(k)}['\"]\s*\])" for k in keys)
    return rf"(?<![\w.]){TEXTS}\b{''.join(steps)}"


def _unknown_name(
    name: str,
    names: tuple[str, ...] = (),
    collector: IssueCollector | None = None,
    reads_texts: bool = True,
) -> str:
    with_texts = collector is not None and collector.text_table is not None and reads_texts
    readable = (*NAMESPACES, *names, *((TEXTS,) if with_texts else ()))
    known = f"{', '.join(readable[:-1])} and {readable[-1]}"
    hint = did_you_mean(name, readable)
    where = "this template reads" if names else "templates and conditions read"
    message = f"unknown name {name!r}{hint}: {where} {known}"
    if name in FIELD_NAMES:
        message += f" (`{name}` only in {FIELD_NAMES[name]})"
    elif name == TEXTS and not reads_texts:
        message += (
            f" (`{TEXTS}` is not read here: its own strings and settings.language, which "
            "chooses the language it is read in, cannot read it)"
        )
    elif name == TEXTS:
        message += (
            f" (a flow's texts by language are a top-level `{TEXTS}:` table, then read as "
            f'`{{{{ {TEXTS}.<key> }}}}`: docs/flow-dsl.md, "Several languages")'
        )
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
