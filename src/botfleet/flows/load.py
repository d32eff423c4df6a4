"""Flow loading: YAML text -> FlowSpec, with every problem reported at once by file and line.

Pure apart from `load_flow`, which reads the file. Steps: parse YAML keeping lines (duplicate
keys are errors), validate against the schema, then run the static checks of `validate.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from pydantic import ValidationError

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows import yaml_lines
from botfleet.flows._issues import IssueCollector, sort_issues
from botfleet.flows._schema_errors import report_schema_errors
from botfleet.flows.schema import FlowSpec
from botfleet.flows.validate import validate_spec


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
) -> Flow:
    """Parse and validate a flow written in YAML.

    Args:
        text: the YAML document.
        source: how to name the flow in messages, usually its file path.
        known_connectors: connector categories flows may invoke (default: the platform's).
        known_operations: operations per category; when given, unknown operations are errors.

    Raises:
        FlowValidationError: the flow has at least one error; `issues` lists every error and
            warning found, in file order.
    """
    try:
        document = yaml_lines.load_with_lines(text)
    except yaml_lines.YamlSyntaxError as exc:
        problem = exc.problem
        raise FlowValidationError([FlowIssue(problem.message, "", problem.line, source)]) from exc
    collector = IssueCollector(source, document.lines)
    for duplicate in document.duplicates:
        collector.error(duplicate.path, duplicate.message)
    spec = _validate_schema(document.data, collector)
    if spec is not None:
        collector.issues.extend(
            validate_spec(
                spec,
                source=source,
                lines=document.lines,
                known_connectors=known_connectors,
                known_operations=known_operations,
            )
        )
    issues = sort_issues(collector.issues)
    if spec is None or any(issue.severity == "error" for issue in issues):
        raise FlowValidationError(issues)
    return Flow(spec, source, tuple(issues), MappingProxyType(dict(document.lines)))


def load_flow(
    path: str | Path,
    *,
    known_connectors: frozenset[str] | None = None,
    known_operations: Mapping[str, frozenset[str]] | None = None,
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
        issue = FlowIssue(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=source)
        raise FlowValidationError([issue]) from exc
    return load_flow_text(
        text, source, known_connectors=known_connectors, known_operations=known_operations
    )


def _validate_schema(data: object, collector: IssueCollector) -> FlowSpec | None:
    if data is None:
        collector.error("", "the flow is empty (expected a mapping with id, initial_state, states)")
        return None
    try:
        return FlowSpec.model_validate(data)
    except ValidationError as exc:
        report_schema_errors(exc, FlowSpec, collector)
        return None
