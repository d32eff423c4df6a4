"""Flow loading: YAML text -> FlowSpec, with every problem reported at once by file and line.

Pure apart from `load_flow`, which reads the file. Steps: parse YAML keeping lines (duplicate
keys are errors), validate against the schema, then run the static checks of `validate.py`.
When the schema fails, the static checks still run on the flow without the parts it rejected,
so that an unknown key does not hide a broken template or an unknown state until it is fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows import yaml_lines
from botfleet.flows._issues import IssueCollector, sort_issues
from botfleet.flows._schema_errors import SchemaProblem, schema_problems
from botfleet.flows.channel_limits import ChannelLimits
from botfleet.flows.schema import FlowSpec
from botfleet.flows.text_files import not_utf8
from botfleet.flows.validate import validate_spec
from botfleet.flows.yaml_lines import index_path, key_path, line_of, parent_path

#: Rounds of leaving out what the schema rejects (each may reveal more) before giving up.
_MAX_PRUNE_ROUNDS = 8
#: Top-level keys the static checks cannot do without: with the states or tasks left out, every
#: reference to one would look unknown; with no id or initial state there is no flow to check.
_ESSENTIAL = frozenset({"id", "initial_state", "states", "tasks"})

_Place = tuple[Any, ...]  # keys and list indexes from the root of the data
_Cut = Callable[[], object] | None  # None: leave the part out; else: what to put in its place


@dataclass(frozen=True, slots=True)
class Flow:
    """A flow that loaded without errors: its spec, where it came from, and its warnings."""

    spec: FlowSpec
    source: str
    warnings: tuple[FlowIssue, ...] = ()
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def line_of(self, path: str) -> int | None:
        """Line of a DSL path such as `states.MENU.on_enter[0]` (or of its nearest parent)."""
        return yaml_lines.line_of(self.lines, path)


def load_flow_text(
    text: str,
    source: str = "<flow>",
    *,
    known_connectors: frozenset[str] | None = None,
    known_operations: Mapping[str, frozenset[str]] | None = None,
    bindings: frozenset[str] | None = None,
    channel: ChannelLimits | None = None,
) -> Flow:
    """Parse and validate a flow written in YAML.

    Args:
        text: the YAML document.
        source: how to name the flow in messages, usually its file path.
        known_connectors: connector categories flows may invoke (default: the platform's).
        known_operations: operations per category or named binding, over each category's
            own (`connector_categories.CATEGORY_OPERATIONS`); a call to another is an error.
        bindings: the tenant's connector binding names, when loading it for a tenant: a call to
            a named binding (`notification.front_desk`) the tenant lacks is an error.
        channel: the tenant's channel, whose limits the menu warnings check (None: WhatsApp's,
            the strictest; `validate_spec`).

    Raises:
        FlowValidationError: the flow has at least one error; `issues` lists every error and
            warning found, in file order.
    """
    try:
        document = yaml_lines.load_with_lines(text)
    except yaml_lines.YamlSyntaxError as exc:
        problem = exc.problem
        issue = FlowIssue(problem.message, problem.path, problem.line, source)
        raise FlowValidationError([issue]) from exc
    collector = IssueCollector(source, document.lines)
    for duplicate in document.duplicates:
        collector.error(duplicate.path, duplicate.message)
    spec, problems = _validate_schema(document.data, collector)
    if spec is not None:
        collector.issues.extend(
            validate_spec(
                spec,
                source=source,
                lines=document.lines,
                known_connectors=known_connectors,
                known_operations=known_operations,
                bindings=bindings,
                texts=document.texts,
                channel=channel,
            )
        )
    elif problems:
        collector.issues.extend(
            _check_what_remains(
                document, problems, source, known_connectors, known_operations, bindings
            )
        )
    issues = sort_issues(dict.fromkeys(collector.issues))
    if spec is None or any(issue.severity == "error" for issue in issues):
        raise FlowValidationError(issues)
    return Flow(spec, source, tuple(issues), MappingProxyType(dict(document.lines)))


def load_flow(
    path: str | Path,
    *,
    known_connectors: frozenset[str] | None = None,
    known_operations: Mapping[str, frozenset[str]] | None = None,
    bindings: frozenset[str] | None = None,
    channel: ChannelLimits | None = None,
) -> Flow:
    """Read a flow file (UTF-8) and load it as `load_flow_text` does, naming it by its path.

    Raises:
        OSError: the file cannot be read.
        FlowValidationError: the file is not UTF-8 text, or the flow has errors.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line, message = not_utf8(exc)
        raise FlowValidationError([FlowIssue(message, line=line, source=source)]) from exc
    return load_flow_text(
        text,
        source,
        known_connectors=known_connectors,
        known_operations=known_operations,
        bindings=bindings,
        channel=channel,
    )


def _validate_schema(
    data: object, collector: IssueCollector
) -> tuple[FlowSpec | None, list[SchemaProblem]]:
    if data is None:
        collector.error("", "the flow is empty (expected a mapping with id, initial_state, states)")
        return None, []
    try:
        return FlowSpec.model_validate(data), []
    except ValidationError as exc:
        problems = schema_problems(exc, FlowSpec)
        for problem in problems:
            collector.error(problem.path, problem.message)
        return None, problems


# ---------------------------------------------------------------- checks despite schema errors


def _check_what_remains(
    document: yaml_lines.LocatedDocument,
    problems: list[SchemaProblem],
    source: str,
    known_connectors: frozenset[str] | None,
    known_operations: Mapping[str, frozenset[str]] | None,
    bindings: frozenset[str] | None,
) -> list[FlowIssue]:
    """Errors of the static checks on the flow without the parts the schema rejected.

    What is left out is chosen so as not to invent errors: an unknown key goes alone (it means
    nothing); any other rejected value takes the whole list item it is in (a transition without
    its trigger would match everything, one without `on_payload_prefix` would break its
    `extract_suffix_as`); a state or task becomes empty but keeps its name, so references to it
    still resolve. Errors on what contained a removed part are dropped, and so are warnings (a
    state may look unreachable for want of a removed transition). Nothing when too little is
    left to check, e.g. no `states` or no `initial_state`.
    """
    try:
        found = _prune_until_valid(document.data, problems)
    except RecursionError:  # nested deeper than copying allows (parsing it did not)
        return []
    if found is None:
        return []
    spec, pruned, cuts = found
    containers = [parent_path(_dsl_path(document.data, place)) for place in cuts]
    texts = {
        path: document.texts[original]
        for path, original in pruned.paths.items()
        if original in document.texts
    }
    issues = []
    for issue in validate_spec(
        spec,
        source=source,
        known_connectors=known_connectors,
        known_operations=known_operations,
        bindings=bindings,
        texts=texts,
    ):
        path = pruned.original_path(issue.path)
        if issue.severity == "error" and not any(_within(c, path) for c in containers):
            # Without `lines`, only a line found inside a text is set: the others are the
            # document's lines of the original paths.
            line = issue.line if issue.line is not None else line_of(document.lines, path)
            issues.append(replace(issue, path=path, line=line))
    return issues


def _prune_until_valid(
    data: Any, problems: list[SchemaProblem]
) -> tuple[FlowSpec, _Pruned, dict[_Place, _Cut]] | None:
    """The spec of `data` less what the schema rejects, the copy it came from, and the cuts."""
    cuts: dict[_Place, _Cut] = {}
    pruned = _Pruned(data, cuts)
    for _ in range(_MAX_PRUNE_ROUNDS):
        found = [_cut_for(problem, pruned.data) for problem in problems]
        new = {pruned.places[at]: cut for at, cut in found if pruned.places[at] not in cuts}
        if not new or any(_is_essential(place, cut) for place, cut in new.items()):
            return None
        cuts.update(new)
        pruned = _Pruned(data, cuts)
        try:
            return FlowSpec.model_validate(pruned.data), pruned, cuts
        except ValidationError as exc:  # what a cut broke (a required key...): cut more
            problems = schema_problems(exc, FlowSpec)
    return None


class _Pruned:
    """A copy of the data without the cut places, and where each of its places came from."""

    def __init__(self, data: Any, cuts: Mapping[_Place, _Cut]) -> None:
        self.places: dict[_Place, _Place] = {}  # place in the copy -> place in the document
        self.paths: dict[str, str] = {}  # the same as DSL paths
        self.data = self._copy(data, cuts, (), "", (), "")

    def original_path(self, path: str) -> str:
        """The document's DSL path for `path` in the copy (list items after a cut shift)."""
        known = path
        while known not in self.paths and known:
            known = parent_path(known)
        return self.paths.get(known, known) + path[len(known) :]

    def _copy(
        self,
        value: Any,
        cuts: Mapping[_Place, _Cut],
        old: _Place,
        old_path: str,
        new: _Place,
        new_path: str,
    ) -> Any:
        self.places[new], self.paths[new_path] = old, old_path
        cut = cuts.get(old)
        if cut is not None:
            return cut()
        if isinstance(value, dict):
            kept: dict[Any, Any] = {}
            for key, child in value.items():
                if (*old, key) in cuts and cuts[(*old, key)] is None:
                    continue
                kept[key] = self._copy(
                    child,
                    cuts,
                    (*old, key),
                    key_path(old_path, key),
                    (*new, key),
                    key_path(new_path, key),
                )
            return kept
        if isinstance(value, list):
            items: list[Any] = []
            for index, child in enumerate(value):
                if (*old, index) in cuts and cuts[(*old, index)] is None:
                    continue
                items.append(
                    self._copy(
                        child,
                        cuts,
                        (*old, index),
                        index_path(old_path, index),
                        (*new, len(items)),
                        index_path(new_path, len(items)),
                    )
                )
            return items
        return value


def _cut_for(problem: SchemaProblem, data: Any) -> tuple[_Place, _Cut]:
    """The place to cut for `problem`, in `data`, and how (see `_check_what_remains`)."""
    place: list[Any] = []
    item_end = None  # length of the place of the innermost list item on the way
    node = data
    for part in problem.place:  # a missing key's place ends at the mapping that lacks it
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node, item_end = node[part], len(place) + 1
        else:
            break
        place.append(part)
    if problem.kind == "extra_forbidden" or problem.is_key:
        return tuple(place), None
    if item_end is not None:
        return tuple(place[:item_end]), None
    if len(place) == 2 and place[0] == "states":
        return tuple(place), dict
    if len(place) == 2 and place[0] == "tasks":
        return tuple(place), list
    return tuple(place), None


def _is_essential(place: _Place, cut: _Cut) -> bool:
    return cut is None and (place == () or (len(place) == 1 and place[0] in _ESSENTIAL))


def _dsl_path(data: Any, place: _Place) -> str:
    path, node = "", data
    for part in place:
        path = index_path(path, part) if isinstance(node, list) else key_path(path, part)
        node = node[part]
    return path


def _within(path: str, ancestor: str) -> bool:
    """Whether `path` is `ancestor` or inside it."""
    if path == ancestor or ancestor == "":
        return True
    return path.startswith(ancestor) and path[len(ancestor)] in ".["
