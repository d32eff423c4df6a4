"""Collects FlowIssues for one flow, locating each path with the YAML line map. Pure."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from botfleet.domain.errors import FlowIssue
from botfleet.flows.suggestions import closest
from botfleet.flows.texts import TextTable
from botfleet.flows.yaml_lines import TextLines, line_of

_T = TypeVar("_T")


class IssueCollector:
    """Appends errors and warnings for `source`, each with the line of its path.

    `texts` locates the lines of texts written over several lines of the file
    (`yaml_lines.LocatedDocument.texts`), for checks that can tell which of them a problem
    is on (`line=`). `continue_keys` maps the `result_key` of each `invoke_connector` with
    `on_error: {continue: true}` to its path, for the template checks
    (`_failed_reads.continue_result_keys`). `text_table` is the flow's `texts` (None: it has
    none), whose keys the template checks compare `texts.<key>` reads with. `data_keys`: the
    top-level `data` keys something writes, which a `data.<key>` read a typo away from one
    (`data.plaet`) is compared with.
    """

    def __init__(
        self,
        source: str,
        lines: Mapping[str, int] | None = None,
        texts: Mapping[str, TextLines] | None = None,
        continue_keys: Mapping[str, str] | None = None,
        text_table: TextTable | None = None,
        data_keys: frozenset[str] | None = None,
    ) -> None:
        self.source = source
        self.lines: Mapping[str, int] = lines or {}
        self.texts: Mapping[str, TextLines] = texts or {}
        self.continue_keys: Mapping[str, str] = continue_keys or {}
        self.text_table = text_table
        #: The top-level `data` keys the flow (or the engine) writes; None: not known.
        self.data_keys = data_keys
        self.issues: list[FlowIssue] = []
        self._once: dict[Hashable, Any] = {}

    def once(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """`compute()` the first time `key` comes up while this flow is checked, the same
        result after: for a check that depends on `key` and the flow only (a template the flow
        repeats is parsed and checked once)."""
        if key not in self._once:
            self._once[key] = compute()
        result: _T = self._once[key]
        return result

    def error(self, path: str, message: str, *, line: int | None = None) -> None:
        self._add(path, message, "error", line)

    def warning(self, path: str, message: str, *, line: int | None = None) -> None:
        self._add(path, message, "warning", line)

    def _add(self, path: str, message: str, severity: str, line: int | None) -> None:
        if line is None:
            line = line_of(self.lines, path)
        self.issues.append(FlowIssue(message, path, line, self.source, severity))


def did_you_mean(
    word: str,
    candidates: Iterable[str],
    *,
    synonyms: Sequence[tuple[Iterable[str], str]] = (),
) -> str:
    """` (did you mean 'X'?)` when one candidate is close to `word` (`suggestions.closest`),
    else `""`."""
    close = closest(word, candidates, synonyms=synonyms)
    return f" (did you mean {close!r}?)" if close else ""


def sort_issues(issues: Iterable[FlowIssue]) -> list[FlowIssue]:
    """File order: by line (unknown lines last), keeping discovery order within a line."""
    return sorted(issues, key=lambda i: (i.line is None, i.line or 0))
