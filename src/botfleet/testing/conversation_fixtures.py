"""Connector fixtures outside a conversation test: the file `botfleet chat --fixtures` reads.

The file holds the `connectors:` mapping a conversation test gives (docs/authoring.md,
"Connector fixtures"), or is a conversation test, whose `connectors:` is taken (its other keys
are the test's, not read here). It is read and checked as a test's fixtures are: its shape when
loaded, then each connector built from it as the sandbox builds it, a problem of a key it
writes named by its line in the file (`fixtures.yaml:4 connectors.notification.operations.send.
by_event.book_slot.fail_alwyas: unknown key ...`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import TenantConfig
from botfleet.flows._issues import IssueCollector
from botfleet.flows._schema_errors import report_schema_errors
from botfleet.flows.schema import FlowSpec
from botfleet.testing.clock import FrozenClock
from botfleet.testing.conversation_format import (
    ConversationTest,
    ConversationTestError,
    LoadedTest,
    read_yaml_file,
)
from botfleet.testing.fixture_errors import config_error_lines
from botfleet.testing.runtime import MONDAY_MORNING
from botfleet.testing.sandbox import _connectors, sandbox_config

__all__ = ["ConnectorFixtures", "FixturesError", "check_fixtures", "load_fixtures"]


class FixturesError(ValueError):
    """A fixtures file is unusable; `problems` are `file:line path: message` lines."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class _FixturesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: As a conversation test's `connectors` (`ConversationTest.connectors`).
    connectors: dict[str, dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class ConnectorFixtures:
    """The fixtures by binding name, the file they come from and its lines by key path."""

    connectors: dict[str, dict[str, Any]]
    source: str
    lines: Mapping[str, int] = field(default_factory=dict)

    def as_test(self) -> LoadedTest:
        """The fixtures as a test with nothing else, so a connector problem is located as a
        test's (`config_error_lines`). Not validated: a test's steps are not needed there."""
        spec = ConversationTest.model_construct(connectors=self.connectors, steps=[])
        return LoadedTest(spec, self.source, self.lines)


def load_fixtures(path: str | Path) -> ConnectorFixtures:
    """Read a fixtures file (or a conversation test's `connectors:`).

    Raises:
        FixturesError: the file cannot be read, or its shape is wrong (file:line and path).
    """
    source = str(path)
    try:
        document = read_yaml_file(path)
    except ConversationTestError as exc:
        raise FixturesError(exc.problems) from None
    data = document.data
    if not isinstance(data, dict):
        raise FixturesError(
            [f"{source}: expected a mapping with a `connectors:` key, as a conversation test has"]
        )
    if "steps" in data:  # a conversation test: chat with its fixtures
        data = {"connectors": data.get("connectors", {})}
    collector = IssueCollector(source, document.lines)
    for duplicate in document.duplicates:
        collector.error(duplicate.path, duplicate.message)
    try:
        parsed = _FixturesFile.model_validate(data)
    except ValidationError as exc:
        report_schema_errors(exc, _FixturesFile, collector)
        parsed = None
    if parsed is None or collector.issues:
        raise FixturesError([str(i) for i in collector.issues] or [f"{source}: invalid"])
    return ConnectorFixtures(parsed.connectors, source, document.lines)


def check_fixtures(
    fixtures: ConnectorFixtures,
    config: TenantConfig,
    flow: FlowSpec,
    *,
    default_calendar: bool = False,
) -> None:
    """Build the tenant's connectors with `fixtures` as `botfleet chat` will (`sandbox_config`
    with `unmocked="fail"`), so a fixture the sandbox would refuse is said before the chat
    starts: in the fixtures file for a key it writes, in the tenant's file for the others.

    Raises:
        FixturesError: a connector cannot be built.
    """
    try:
        mocked = sandbox_config(
            config,
            flow,
            fixtures.connectors,
            unmocked="fail",
            default_calendar=default_calendar,
        )
        _connectors(mocked, FrozenClock(MONDAY_MORNING))
    except ConfigError as exc:
        raise FixturesError(config_error_lines(fixtures.as_test(), exc)) from None
