"""YAML parsing that remembers the line of every mapping key and sequence item. Pure, no I/O.

Paths use the flow DSL's notation: mapping keys joined with dots, sequence items as `[i]`,
e.g. `states.MENU.transitions[1].target`. The root document is the empty path `""`.
Duplicate keys, which plain YAML loaders silently collapse (the last one wins), are reported.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from botfleet.domain.yaml_text import SafeLoader

#: Upper bound on nodes built from one document: aliases can expand a small file enormously.
MAX_NODES = 200_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("map", "seq", "omap", "pairs", "set")
)


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """Something wrong in a YAML document, located by 1-based line and path."""

    message: str
    line: int | None
    path: str = ""


class YamlSyntaxError(ValueError):
    """The text is not a well-formed YAML document."""

    def __init__(self, problem: YamlProblem) -> None:
        self.problem = problem
        where = "" if problem.line is None else f"line {problem.line}: "
        super().__init__(f"{where}{problem.message}")


@dataclass(frozen=True, slots=True)
class TextLines:
    """Where the text of a value written over several lines of the file comes from: for each
    line of the file that gives it text, the offset in the value where that text starts."""

    starts: tuple[tuple[int, int], ...]  # (offset in the value, line of the file), in order

    def line_at(self, offset: int) -> int:
        """The line of the file holding the value's character at `offset`."""
        index = bisect_right([start for start, _ in self.starts], offset) - 1
        return self.starts[max(index, 0)][1]

    def line_ends(self, length: int) -> list[tuple[int, int]]:
        """(line of the file, offset in the value where that line's text ends) for each line,
        in order; `length` is the value's, where the last line's text ends."""
        ends = [start for start, _ in self.starts[1:]] + [length]
        return [(line, end) for (_, line), end in zip(self.starts, ends, strict=True)]


@dataclass(frozen=True, slots=True)
class LocatedDocument:
    """A parsed document with the line of each path and the duplicate keys found in it.

    `texts` locates the lines of the text values written over several lines (block scalars
    such as `text: |` or `body: >-`, and quoted or plain texts that go on to the next line),
    so a problem inside one can be placed on its own line rather than on its key's.
    """

    data: Any
    lines: Mapping[str, int]
    duplicates: tuple[YamlProblem, ...] = ()
    texts: Mapping[str, TextLines] = field(default_factory=dict)


def key_path(parent: str, key: object) -> str:
    return str(key) if parent == "" else f"{parent}.{key}"


def index_path(parent: str, index: int) -> str:
    return f"{parent}[{index}]"


def parent_path(path: str) -> str:
    """`a.b[2]` -> `a.b` -> `a` -> `""`."""
    if path.endswith("]") and "[" in path:
        return path[: path.rindex("[")]
    return path.rsplit(".", 1)[0] if "." in path else ""


def line_of(lines: Mapping[str, int], path: str) -> int | None:
    """Line of `path`, or of its nearest ancestor present in `lines` (a missing key's parent)."""
    while True:
        if path in lines:
            return lines[path]
        if path == "":
            return None
        path = parent_path(path)


def load_with_lines(text: str) -> LocatedDocument:
    """Parse one YAML document (safe tags only).

    Raises:
        YamlSyntaxError: the text is not well-formed YAML, is nested too deeply, or aliases
            make it too large.
    """
    try:
        loader = SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # control characters, checked before parsing
        line = text.count("\n", 0, exc.position) + 1
        message = f"invalid YAML: character {exc.character:#06x} is not allowed"
        raise YamlSyntaxError(YamlProblem(message, line)) from exc
    try:
        root = loader.get_single_node()
        if root is None:
            return LocatedDocument(data=None, lines={"": 1})
        return _Builder(loader, text).build(root)
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError(_describe(exc, text)) from exc
    except RecursionError:  # PyYAML composes nested collections recursively
        raise YamlSyntaxError(YamlProblem("invalid YAML: nested too deeply", None)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(YamlProblem(f"invalid YAML: {exc}", None)) from exc
    finally:
        loader.dispose()


def _describe(exc: yaml.MarkedYAMLError, text: str) -> YamlProblem:
    """The parser's error as a flow author can act on it: where, what is wrong, what to do.

    The path is that of the value being read when the parser stopped (for a key out of line,
    the list or mapping it broke), as far as the document could be read.
    """
    mark = exc.problem_mark or exc.context_mark
    if isinstance(exc, yaml.scanner.ScannerError) and exc.context_mark is not None:
        # The scanner's problem mark is where it gave up (for an unclosed quote, past the end
        # of the file); its context mark is where the construct that failed began.
        mark = exc.context_mark
    if isinstance(exc, _BuilderError):
        outline, path = _Outline([], []), exc.path
    else:
        outline = _outline(text)
        path = outline.path
    explained = _explain(exc, text, outline)
    if explained is not None:
        line, message = explained
        return YamlProblem(f"invalid YAML: {message}", line, path)
    message = _parser_words(exc) or str(exc)
    return YamlProblem(f"invalid YAML: {message}", None if mark is None else mark.line + 1, path)


def _parser_words(exc: yaml.MarkedYAMLError) -> str:
    return "; ".join(p for p in (exc.context, exc.problem) if p)


def _with_parser_words(message: str, exc: yaml.MarkedYAMLError) -> str:
    """`message`, a guess at what the author meant, followed by what the parser said."""
    words = _parser_words(exc)
    return f"{message} (YAML parser: {words})" if words else message


# ---------------------------------------------------------------- where the parser stopped


#: A mapping key as written and the parser's mark of where (its `line` and `column`, 0-based).
_KeyAt = tuple[str, Any]


@dataclass
class _Collection:
    """A mapping or list the parser had started, and how far into it it had read."""

    path: str
    mapping: bool
    as_key: bool = False  # a collection used as a mapping key (`? [a, b]`)
    key: str | None = None  # a mapping's key whose value is being read
    last_key: _KeyAt | None = None  # a mapping's latest key and where it is
    index: int = -1  # a list's latest item


@dataclass
class _Outline:
    """The collections open where the parser stopped (outermost first), and those it closed
    right before stopping (innermost first): what a line out of place broke, and the keys it
    could have been lined up with."""

    open: list[_Collection]
    closed: list[_Collection]

    @property
    def path(self) -> str:
        if not self.open:
            return ""
        innermost = self.open[-1]
        if innermost.mapping and innermost.key not in (None, "?"):
            return key_path(innermost.path, innermost.key)
        return innermost.path

    def keys_before(self, line: int) -> list[_KeyAt]:
        """The latest key of each mapping open or just closed, written before `line` (0-based)."""
        return [
            collection.last_key
            for collection in [*self.open, *self.closed]
            if collection.mapping
            and collection.last_key is not None
            and collection.last_key[1].line < line
        ]


def _outline(text: str) -> _Outline:
    """The parser's events up to its error, as the collections open where it stopped."""
    stack: list[_Collection] = []
    closed: list[_Collection] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionEndEvent):
                done = stack.pop()
                closed.append(done)
                if stack and stack[-1].mapping:
                    stack[-1].key = "?" if done.as_key else None
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue  # the stream's and the document's start and end
            closed = []
            _enter(stack, event)
    except yaml.YAMLError:
        pass  # the events before the error are all that is needed
    return _Outline(stack, closed)


def _enter(stack: list[_Collection], event: yaml.NodeEvent) -> None:
    """Follow one node event (a value, a key, or the start of a collection) on `stack`."""
    parent = stack[-1] if stack else None
    path, as_key = "", False
    if parent is not None and parent.mapping:
        if parent.key is None:  # a key
            if isinstance(event, yaml.ScalarEvent):
                parent.key = event.value
                if event.start_mark is not None:
                    parent.last_key = (event.value, event.start_mark)
                return
            path, as_key = parent.path, True
        else:
            path = key_path(parent.path, parent.key)
    elif parent is not None:
        parent.index += 1
        path = index_path(parent.path, parent.index)
    if isinstance(event, yaml.CollectionStartEvent):
        stack.append(_Collection(path, isinstance(event, yaml.MappingStartEvent), as_key))
    elif parent is not None and parent.mapping:
        parent.key = None  # a scalar or alias value: the next node is a key


# ---------------------------------------------------------------- explaining syntax errors

# `key: value`, `- value` or `- key: value` up to where the value starts.
_VALUE_START = re.compile(r"\s*(?:-[ \t]+)*(?:[^\s#'\"{}\[\],*&!|>@%`][^#]*?:[ \t]+)?")
# What a value starting with each character means to YAML (so it must be quoted to be text).
_SPECIAL_STARTS = {
    "*": "starts a YAML alias",
    "&": "starts a YAML anchor",
    "!": "starts a YAML tag",
    "|": "starts a YAML block of text",
    ">": "starts a YAML block of text",
    "?": "starts a YAML key",
    "-": "starts a YAML list item",
    "@": "is reserved in YAML",
    "`": "is reserved in YAML",
    "%": "starts a YAML directive",
    "[": "starts a YAML list",
    "{": "starts a YAML mapping",
}
_BLOCK_END = "expected <block end>, but found "


def _explain(exc: yaml.MarkedYAMLError, text: str, outline: _Outline) -> tuple[int, str] | None:
    """(line, message) for mistakes authors commonly make, or None to keep PyYAML's words.

    Where the message guesses what the author meant (a line out of place may belong to the
    mapping above or below), the parser's own words follow it.
    """
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return None
    explained = _explain_value(exc, text, mark)
    if explained is None and not isinstance(exc, _BuilderError):
        explained = _explain_scanner(exc, text, mark) or _explain_parser(exc, text, mark, outline)
    return explained


def _explain_value(exc: yaml.MarkedYAMLError, text: str, mark: yaml.Mark) -> tuple[int, str] | None:
    """A value that starts with a character YAML reads as syntax (`{{`, `*`, `@`...)."""
    line = mark.line + 1
    special = _special_value(text, mark, from_parser=not isinstance(exc, _BuilderError))
    if special is None:
        return None
    if special in ("[", "{") and exc.problem != f"{_BLOCK_END}'<scalar>'":
        return None  # a list or mapping written inline, broken inside: quoting is no cure
    what = "template" if special == "{{" else "text"
    meaning = "starts a YAML mapping here" if special == "{{" else _SPECIAL_STARTS[special]
    shown = "'`'" if special == "`" else f"`{special}`"
    suggestion = _quoted(_line_text(text, line))
    return line, f"{shown} {meaning}: put the {what} in quotes: {suggestion}"


def _explain_scanner(
    exc: yaml.MarkedYAMLError, text: str, mark: yaml.Mark
) -> tuple[int, str] | None:
    line, problem, opened = mark.line + 1, exc.problem or "", exc.context_mark
    quoted = opened is not None and exc.context == "while scanning a quoted scalar"
    if opened is not None and quoted and problem.startswith("found unexpected"):
        # ...end of stream or document separator: the scanner ran to the end looking for it.
        quote = text[opened.index] if opened.index < len(text) else '"'
        return opened.line + 1, (
            f"the quote `{quote}` opened on this line is never closed: add the closing `{quote}` "
            "where the text ends"
        )
    if exc.context == "while scanning a double-quoted scalar":
        return line, (
            'a `\\` inside "double quotes" starts an escape sequence: write `\\\\` for a '
            "backslash, or put the text in 'single quotes'"
        )
    if problem == "found character '\\t' that cannot start any token":
        if _line_text(text, line)[: mark.column].strip(" \t") == "":
            return line, "this line is indented with a tab: YAML needs spaces: replace the tab"
        return line, "a tab character here: YAML allows tabs only inside quoted text: use spaces"
    if opened is not None and exc.context == "while scanning a simple key":
        written = _line_text(text, opened.line + 1).strip()
        if re.search(r":[^\s]", written):
            return opened.line + 1, f"no space after the `:` in {written!r}: write `key: value`"
        return opened.line + 1, _with_parser_words(
            f"no `:` in {written!r}: write `key: value`, with a space after the colon", exc
        )
    if problem == "mapping values are not allowed here":
        written = _line_text(text, line)
        before = written[: mark.column]
        if re.search(r":[ \t]", before):
            return line, f"a `: ` inside a value: put the text in quotes: {_quoted(written)}"
        key = before.strip().removeprefix("- ")
        return line, _with_parser_words(
            f"`{key}:` cannot start here: if it belongs under the line above, end that line "
            "with `:`; otherwise indent it like the other keys next to it",
            exc,
        )
    return None


def _explain_parser(
    exc: yaml.MarkedYAMLError, text: str, mark: yaml.Mark, outline: _Outline
) -> tuple[int, str] | None:
    line, problem, opened = mark.line + 1, exc.problem or "", exc.context_mark
    flow = exc.context in ("while parsing a flow sequence", "while parsing a flow mapping")
    if flow and opened is not None and opened.line < mark.line:
        bracket = text[opened.index] if opened.index < len(text) else "["
        closing = "]" if bracket == "[" else "}"
        until = f"line {line}" if line <= len(text.splitlines()) else "the end of the file"
        return opened.line + 1, _with_parser_words(
            f"the `{bracket}` opened on this line is not closed before {until}: close it "
            f"with `{closing}`, or put the text in quotes if it is not a YAML list or mapping",
            exc,
        )
    if not problem.startswith(_BLOCK_END):
        return None
    unclosed = _quote_closed_late(text, mark.index)
    if unclosed is not None:
        start, closed, quote = unclosed
        return start, _with_parser_words(
            f"the quote `{quote}` opened on this line is only closed on line {closed}: "
            f"if the text ends on this line, add the closing `{quote}` here",
            exc,
        )
    found = problem.removeprefix(_BLOCK_END)
    message = None
    if found in ("'-'", "'<block sequence start>'"):
        message = (
            "this list item (`- `) is not lined up: start it at the same column as the other "
            "items of its list, indented under the key that holds the list"
        )
    elif found in ("'?'", "'<block mapping start>'"):
        message = _key_out_of_line(text, mark, outline, in_list=found == "'?'") or (
            "this line is not lined up with the lines above: start it at the same column as "
            "the other keys of its mapping"
        )
    elif found == "'<scalar>'":
        message = (
            "unexpected text after a value: if the text belongs to the value, put the whole "
            "value in quotes; otherwise check the indentation of this line"
        )
    return None if message is None else (line, _with_parser_words(message, exc))


# A key as written at the start of a line: `  name:` or `  - name:`.
_KEY_WRITTEN = re.compile(
    r"\s*(?:-[ \t]+)?(?P<key>[^\s#'\"{}\[\],&*!|>%@`-][^:#]*?)[ \t]*:(?:\s|$)"
)


def _key_out_of_line(text: str, mark: yaml.Mark, outline: _Outline, *, in_list: bool) -> str | None:
    """Where a key written at the wrong column could go: lined up with the nearest key above it
    on either side (less indented: a key of that mapping; more: part of the item above).

    `in_list`: the key is at the column of the `- ` of the list before it (PyYAML's "found
    '?'"), so it ends that list without being a key of the mapping that holds it.
    """
    match = _KEY_WRITTEN.match(_line_text(text, mark.line + 1))
    if match is None:
        return None
    key, column = match["key"], mark.column
    keys = outline.keys_before(mark.line)
    outer = max(
        (k for k in keys if k[1].column < column),
        key=lambda k: (k[1].column, k[1].line),
        default=None,
    )
    inner = min(
        (k for k in keys if k[1].column > column),
        key=lambda k: (k[1].column, -k[1].line),
        default=None,
    )
    if outer is None and inner is None:
        return None
    holder = _list_holder(outline) if in_list else None
    if holder is None:
        ways = [_key_place(k) for k in (outer, inner) if k is not None]
        return (
            f"`{key}:` is not lined up with the keys above it: line it up with "
            f"{' or with '.join(ways)}, whichever mapping it belongs to"
        )
    ways = []
    if outer is not None:
        ways.append(f"{_key_place(outer)} to make it a key beside it")
    if inner is not None:
        ways.append(f"{_key_place(inner)} to put it in the list's last item")
    name, at = holder
    return (
        f"`{key}:` is lined up with the `- ` of the list above it (`{name}:`, line "
        f"{at.line + 1}): it is neither an item of that list nor a key beside `{name}:`: "
        f"line it up with {', or with '.join(ways)}"
    )


def _key_place(key: _KeyAt) -> str:
    name, at = key
    return f"`{name}:` (line {at.line + 1}, column {at.column + 1})"


def _list_holder(outline: _Outline) -> _KeyAt | None:
    """The key whose value is the innermost open list, when it is a mapping's value."""
    if len(outline.open) < 2 or outline.open[-1].mapping or not outline.open[-2].mapping:
        return None
    return outline.open[-2].last_key


def _line_text(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _special_value(text: str, mark: yaml.Mark, *, from_parser: bool) -> str | None:
    """The special start (`{{`, `*`...) of the unquoted value the error `mark` is in, if any.

    Only `{{` is looked for in errors of our own builder: its other errors (aliases that
    recurse or grow too large, unsupported tags) are not cured by quoting.
    """
    line = _line_text(text, mark.line + 1)
    match = _VALUE_START.match(line)
    start = match.end() if match else 0
    if mark.column < start or not line[:start].strip():
        return None  # not in a value after `key:` or `- ` (`---` ends a document, say)
    value = line[start:]
    if value.startswith("{{"):
        return "{{"
    if from_parser and value[:1] and value[0] in {*_SPECIAL_STARTS, "[", "{"}:
        return value[0]
    return None


def _quoted(line: str) -> str:
    """`line` (`key: value` or `- value`) with its value quoted, as a suggestion to copy."""
    match = _VALUE_START.match(line)
    start = match.end() if match else 0
    value = re.sub(r"[ \t]+#.*$", "", line[start:]).strip()  # a trailing comment stays out
    if '"' not in value:
        quoted = f'"{value}"'
    elif "'" not in value:
        quoted = f"'{value}'"
    else:
        quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{line[:start].strip()} {quoted}".strip()


def _quote_closed_late(text: str, error_index: int) -> tuple[int, int, str] | None:
    """(line opened, line closed, quote) when the last value before `error_index` is a quoted
    text running over several lines: usually a quote left open, closed by the next one."""
    last: yaml.ScalarToken | None = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= error_index:
                break
            if isinstance(token, yaml.ScalarToken):
                last = token
    except yaml.YAMLError:
        pass  # the tokens before the error are all that is needed
    if last is None or last.style not in ('"', "'"):
        return None
    opened, closed = last.start_mark.line + 1, last.end_mark.line + 1
    return (opened, closed, str(last.style)) if closed > opened else None


def _text_lines(value: str, node: Node, text: str) -> TextLines | None:
    """Where the lines of a text value written over several lines of the file are: each line's
    text (indentation, quotes and a block's header left out) is found in the value, in order.
    A line whose text the value does not hold as written (escapes in quotes) is skipped."""
    first = node.start_mark.line
    written = text[node.start_mark.index : node.end_mark.index].split("\n")
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        written, first = written[1:], first + 1  # the header: `|`, `>-`, a comment
    starts: list[tuple[int, int]] = []
    position = 0
    for number, line in enumerate(written, start=first + 1):
        content = line.strip().strip("\"'").strip()
        if not content:
            continue
        found = value.find(content, position)
        if found < 0:
            continue
        starts.append((found, number))
        position = found + len(content)
    return TextLines(tuple(starts)) if starts else None


class _BuilderError(yaml.MarkedYAMLError):
    """An error found building values from parsed nodes (not by PyYAML's parser)."""

    path = ""  # the value being built, set as the error goes up through `_Builder.value`
    located = False


class _Builder:
    """Walks composed nodes, building Python values and the path -> line map."""

    def __init__(self, loader: yaml.SafeLoader, text: str) -> None:
        self.loader = loader
        self.text = text
        self.lines: dict[str, int] = {}
        self.texts: dict[str, TextLines] = {}
        self.duplicates: list[YamlProblem] = []
        self.count = 0
        self.active: set[int] = set()  # ids of nodes being built: catches recursive aliases

    def build(self, root: Node) -> LocatedDocument:
        self.lines[""] = root.start_mark.line + 1
        data = self.value(root, "")
        return LocatedDocument(data, dict(self.lines), tuple(self.duplicates), dict(self.texts))

    def value(self, node: Node, path: str) -> Any:
        try:
            value = self._value(node, path)
        except _BuilderError as exc:
            if not exc.located:
                exc.path, exc.located = path, True
            raise
        if isinstance(value, str) and node.end_mark.line > node.start_mark.line:
            located = _text_lines(value, node, self.text)
            if located is not None:
                self.texts[path] = located
        return value

    def _value(self, node: Node, path: str) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _BuilderError(
                problem=f"document too large (more than {MAX_NODES} values after aliases)",
                problem_mark=node.start_mark,
            )
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if node.tag not in _COLLECTION_TAGS:
            raise _BuilderError(
                problem=f"unsupported tag {node.tag!r}", problem_mark=node.start_mark
            )
        if id(node) in self.active:
            raise _BuilderError(
                problem="recursive alias (a value that contains itself)",
                problem_mark=node.start_mark,
            )
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self.sequence(node, path)
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
        raise _BuilderError(problem="unsupported YAML node", problem_mark=node.start_mark)

    def scalar(self, node: ScalarNode) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, TypeError) as exc:  # e.g. the date 2024-13-45
            raise _BuilderError(
                problem=f"invalid value {node.value!r}: {exc}", problem_mark=node.start_mark
            ) from exc
        if isinstance(value, str) and not value.isascii():
            return self._whole_characters(value, node)
        return value

    @staticmethod
    def _whole_characters(value: str, node: ScalarNode) -> str:
        try:
            value.encode()
            return value
        except UnicodeEncodeError:
            # PyYAML leaves "\ud83d\ude00" as two halves, as JSON writes 😀: join the pairs.
            value = value.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
        try:
            value.encode()
            return value
        except UnicodeEncodeError as exc:
            # Half of a pair left alone loads, then fails every send: no channel can encode it.
            half = f"\\u{ord(value[exc.start]):04x}"
            raise _BuilderError(
                problem=f"{half} is half of a character (a lone UTF-16 surrogate): write "
                "the character itself, or its \\U escape (\\U0001F600 for 😀)",
                problem_mark=node.start_mark,
            ) from None

    def sequence(self, node: SequenceNode, path: str) -> list[Any]:
        items: list[Any] = []
        for index, child in enumerate(node.value):
            child_path = index_path(path, index)
            self.lines.setdefault(child_path, child.start_mark.line + 1)
            items.append(self.value(child, child_path))
        return items

    def mapping(self, node: MappingNode, path: str) -> dict[Any, Any]:
        self._check_duplicates(node, path)
        # `<<: *base` merges: keys written here override merged ones, which is not a duplicate.
        self.loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _BuilderError(
                    problem="a mapping key must be a plain value", problem_mark=key_node.start_mark
                )
            key = self.scalar(key_node)
            child_path = key_path(path, key)
            self.lines[child_path] = key_node.start_mark.line + 1
            result[key] = self.value(value_node, child_path)
        return result

    def _check_duplicates(self, node: MappingNode, path: str) -> None:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            key = self.scalar(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                self.duplicates.append(
                    YamlProblem(
                        f"duplicate key {key!r} (first defined on line {seen[key]})",
                        line,
                        key_path(path, key),
                    )
                )
            else:
                seen[key] = line
