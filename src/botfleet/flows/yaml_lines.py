"""YAML parsing that remembers the line of every mapping key and sequence item. Pure, no I/O.

Paths use the flow DSL's notation: mapping keys joined with dots, sequence items as `[i]`,
e.g. `states.MENU.transitions[1].target`. The root document is the empty path `""`.
Duplicate keys, which plain YAML loaders silently collapse (the last one wins), are reported.
"""

from __future__ import annotations

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
        raise YamlSyntaxError(_describe(exc)) from exc
    except RecursionError:  # PyYAML composes nested collections recursively
        raise YamlSyntaxError(YamlProblem("invalid YAML: nested too deeply", None)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(YamlProblem(f"invalid YAML: {exc}", None)) from exc
    finally:
        loader.dispose()


def _describe(exc: yaml.MarkedYAMLError) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    parts = [p for p in (exc.context, exc.problem) if p]
    message = "; ".join(parts) if parts else str(exc)
    return YamlProblem(f"invalid YAML: {message}", None if mark is None else mark.line + 1)


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
            raise yaml.MarkedYAMLError(
                problem=f"document too large (more than {MAX_NODES} values after aliases)",
                problem_mark=node.start_mark,
            )
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if node.tag not in _COLLECTION_TAGS:
            raise yaml.MarkedYAMLError(
                problem=f"unsupported tag {node.tag!r}", problem_mark=node.start_mark
            )
        if id(node) in self.active:
            raise yaml.MarkedYAMLError(
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
        raise yaml.MarkedYAMLError(problem="unsupported YAML node", problem_mark=node.start_mark)

    def scalar(self, node: ScalarNode) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, TypeError) as exc:  # e.g. the date 2024-13-45
            raise yaml.MarkedYAMLError(
                problem=f"invalid value {node.value!r}: {exc}", problem_mark=node.start_mark
            ) from exc

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
                raise yaml.MarkedYAMLError(
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
