"""YAML parsing that remembers the line of every mapping key and sequence item. Pure, no I/O.

Paths use the flow DSL's notation: mapping keys joined with dots, sequence items as `[i]`,
e.g. `states.MENU.transitions[1].target`. The root document is the empty path `""`.
Duplicate keys, which plain YAML loaders silently collapse (the last one wins), are reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

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
class LocatedDocument:
    """A parsed document with the line of each path and the duplicate keys found in it."""

    data: Any
    lines: Mapping[str, int]
    duplicates: tuple[YamlProblem, ...] = ()


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
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # control characters, checked before parsing
        line = text.count("\n", 0, exc.position) + 1
        message = f"invalid YAML: character {exc.character:#06x} is not allowed"
        raise YamlSyntaxError(YamlProblem(message, line)) from exc
    try:
        root = loader.get_single_node()
        if root is None:
            return LocatedDocument(data=None, lines={"": 1})
        return _Builder(loader).build(root)
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError(_describe(exc, text)) from exc
    except RecursionError:  # PyYAML composes nested collections recursively
        raise YamlSyntaxError(YamlProblem("invalid YAML: nested too deeply", None)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(YamlProblem(f"invalid YAML: {exc}", None)) from exc
    finally:
        loader.dispose()


def _describe(exc: yaml.MarkedYAMLError, text: str) -> YamlProblem:
    """The parser's error as a flow author can act on it: where, what is wrong, what to do."""
    mark = exc.problem_mark or exc.context_mark
    if isinstance(exc, yaml.scanner.ScannerError) and exc.context_mark is not None:
        # The scanner's problem mark is where it gave up (for an unclosed quote, past the end
        # of the file); its context mark is where the construct that failed began.
        mark = exc.context_mark
    explained = _explain(exc, text)
    if explained is not None:
        line, message = explained
        return YamlProblem(f"invalid YAML: {message}", line)
    parts = [p for p in (exc.context, exc.problem) if p]
    message = "; ".join(parts) if parts else str(exc)
    return YamlProblem(f"invalid YAML: {message}", None if mark is None else mark.line + 1)


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


def _explain(exc: yaml.MarkedYAMLError, text: str) -> tuple[int, str] | None:
    """(line, message) for mistakes authors commonly make, or None to keep PyYAML's words."""
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return None
    explained = _explain_value(exc, text, mark)
    if explained is None and not isinstance(exc, _BuilderError):
        explained = _explain_scanner(exc, text, mark) or _explain_parser(exc, text, mark)
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
        return opened.line + 1, (
            f"no `:` in {written!r}: write `key: value`, with a space after the colon"
        )
    if problem == "mapping values are not allowed here":
        written = _line_text(text, line)
        before = written[: mark.column]
        if re.search(r":[ \t]", before):
            return line, f"a `: ` inside a value: put the text in quotes: {_quoted(written)}"
        key = before.strip().removeprefix("- ")
        return line, (
            f"`{key}:` cannot start here: if it belongs under the line above, end that line "
            "with `:`; otherwise indent it like the other keys next to it"
        )
    return None


def _explain_parser(
    exc: yaml.MarkedYAMLError, text: str, mark: yaml.Mark
) -> tuple[int, str] | None:
    line, problem, opened = mark.line + 1, exc.problem or "", exc.context_mark
    flow = exc.context in ("while parsing a flow sequence", "while parsing a flow mapping")
    if flow and opened is not None and opened.line < mark.line:
        bracket = text[opened.index] if opened.index < len(text) else "["
        closing = "]" if bracket == "[" else "}"
        until = f"line {line}" if line <= len(text.splitlines()) else "the end of the file"
        return opened.line + 1, (
            f"the `{bracket}` opened on this line is not closed before {until}: close it "
            f"with `{closing}`, or put the text in quotes if it is not a YAML list or mapping"
        )
    if not problem.startswith(_BLOCK_END):
        return None
    unclosed = _quote_closed_late(text, mark.index)
    if unclosed is not None:
        start, closed, quote = unclosed
        return start, (
            f"the quote `{quote}` opened on this line is only closed on line {closed}: "
            f"if the text ends on this line, add the closing `{quote}` here"
        )
    found = problem.removeprefix(_BLOCK_END)
    if found in ("'-'", "'<block sequence start>'"):
        return line, (
            "this list item (`- `) is not lined up: start it at the same column as the other "
            "items of its list, indented under the key that holds the list"
        )
    if found == "'<block mapping start>'":
        return line, (
            "this line is not lined up with the lines above: start it at the same column as "
            "the other keys of its mapping"
        )
    if found == "'<scalar>'":
        return line, (
            "unexpected text after a value: if the text belongs to the value, put the whole "
            "value in quotes; otherwise check the indentation of this line"
        )
    return None


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


class _BuilderError(yaml.MarkedYAMLError):
    """An error found building values from parsed nodes (not by PyYAML's parser)."""


class _Builder:
    """Walks composed nodes, building Python values and the path -> line map."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.lines: dict[str, int] = {}
        self.duplicates: list[YamlProblem] = []
        self.count = 0
        self.active: set[int] = set()  # ids of nodes being built: catches recursive aliases

    def build(self, root: Node) -> LocatedDocument:
        self.lines[""] = root.start_mark.line + 1
        data = self.value(root, "")
        return LocatedDocument(data, dict(self.lines), tuple(self.duplicates))

    def value(self, node: Node, path: str) -> Any:
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
