"""The YAML format of conversation tests: pydantic models, loading with file:line errors.

One test per file; docs/authoring.md is the reference. Paths in a test are relative to its file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from botfleet.domain.messages import MessageType
from botfleet.domain.yaml_text import safe_load
from botfleet.flows import yaml_lines
from botfleet.flows._issues import IssueCollector
from botfleet.flows._schema_errors import report_schema_errors
from botfleet.flows.durations import parse_duration
from botfleet.flows.text_files import not_utf8

__all__ = [
    "DEFAULT_CONTACT",
    "TEST_KEYS",
    "ContactSpec",
    "ConversationTest",
    "ConversationTestError",
    "LLMAnswerSpec",
    "LoadedTest",
    "MessageSpec",
    "NotificationExpectation",
    "OutputExpectation",
    "RunTaskSpec",
    "StartSpec",
    "StepSpec",
    "TestSearch",
    "find_conversation_tests",
    "load_conversation_test",
    "not_utf8",
    "search_conversation_tests",
]

DEFAULT_CONTACT = "contact-1"
#: What a step can do (one per step).
ACTIONS = ("say", "press", "send", "wait", "enter", "run_task")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_written(value: Any) -> Any:
    """YAML reads `2024-05-07` as a date; conversation data is JSON, where it is that text."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _as_written(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_written(v) for v in value]
    return value


class OutputExpectation(_Spec):
    """One bot output: its text (exact, substring or regex search), kind and option ids
    (`buttons` and `options` exact and in order, `options_include` some of them), and the
    options' `titles` and `descriptions` (exact and in order), as the test's channel shows them."""

    type: Literal["text", "buttons", "list", "template"] | None = None
    text: str | None = None
    contains: str | None = None
    regex: str | None = None
    buttons: list[str] | None = None
    options: list[str] | None = None
    options_include: list[str] | None = None
    titles: list[str] | None = None
    descriptions: list[str] | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class NotificationExpectation(_Spec):
    """One notification the flow sent (`notification.send`): the binding it went to
    (`connector`, as the flow names it: `notification.crm`), its `event`, `contact_id` and
    `text` exactly (`contains`: some of the text), its data (the other params) exactly (`data`)
    or some keys of it (`data_include`, compared as a step's `data:` is)."""

    connector: str | None = None
    event: str | None = None
    contact_id: str | None = None
    text: str | None = None
    contains: str | None = None
    data: dict[str, Any] | None = None
    data_include: dict[str, Any] | None = None

    @field_validator("data", "data_include", mode="before")
    @classmethod
    def _data_as_written(cls, value: Any) -> Any:
        return _as_written(value)

    @field_validator("contact_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # The webhook sends a contact id as text: `contact_id: 34600111222` means that text.
        return _id_text(value)


def _id_text(value: Any) -> Any:
    """A contact id as the channels give it, text: `34600111222` written bare means that."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class MessageSpec(_Spec):
    """Any inbound message (`send:`), e.g. `{type: location}` or `{type: image}`."""

    type: str
    text: str = ""
    payload: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        try:
            MessageType.parse(value)
        except ValueError:
            known = ", ".join(t.value for t in MessageType)
            raise ValueError(f"unknown message type {value!r} (known: {known})") from None
        return value


class RunTaskSpec(_Spec):
    """`run_task:`: the flow's task run now for the step's contact, as the control plane's
    "run now" runs it (`POST /v1/tenants/{id}/tasks/run`), with `data` as the run's data."""

    task: str = Field(min_length=1)
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data", mode="before")
    @classmethod
    def _data_as_written(cls, value: Any) -> Any:
        return _as_written(value)


def _listed(value: Any, key: str) -> Any:
    """One item or a list of them, each a mapping: a bare string stands for `{key: string}`."""
    items = [value] if isinstance(value, str | dict) else value
    if isinstance(items, list):
        return [{key: i} if isinstance(i, str) else i for i in items]
    return value


class StepSpec(_Spec):
    """One step: `set_data` first, then at most one action (`say`, `press`, `send`, `wait`,
    `enter`, `run_task`), then the checks (`expect`, `sent_to`, `state`, `data`, `tasks`,
    `notified`)."""

    set_data: dict[str, Any] | None = None
    say: str | None = None
    press: str | None = None
    send: MessageSpec | None = None
    wait: str | None = None
    enter: str | None = None
    run_task: RunTaskSpec | None = None
    contact: str | None = None
    expect: list[OutputExpectation] | None = None
    #: contact id -> its outputs during the step: what `expect` is for the step's contact,
    #: for another one (a reminder of theirs that fell due in this step's `wait`).
    sent_to: dict[str, list[OutputExpectation]] | None = None
    state: str | None = None
    data: dict[str, Any] | None = None
    tasks: list[str] | None = None
    notified: list[NotificationExpectation] | None = None

    @field_validator("expect", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return _listed(value, "text")

    @field_validator("sent_to", mode="before")
    @classmethod
    def _per_contact(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        # A WhatsApp id written bare (`34600111222:`) is read by YAML as a number.
        return {_id_text(k): _listed(v, "text") for k, v in value.items()}

    @field_validator("notified", mode="before")
    @classmethod
    def _events_as_list(cls, value: Any) -> Any:
        # `notified: handoff_requested`, `notified: [handoff_requested, {event: ...}]`
        return _listed(value, "event")

    @field_validator("set_data", "data", mode="before")
    @classmethod
    def _data_as_written(cls, value: Any) -> Any:
        return _as_written(value)

    @field_validator("wait")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _one_action(self) -> StepSpec:
        actions = [k for k in ACTIONS if getattr(self, k) is not None]
        if len(actions) > 1:
            raise ValueError(f"give one action per step, not {' and '.join(actions)}")
        return self

    def describe(self) -> str:
        if self.say is not None:
            return f"say: {self.say!r}"
        if self.press is not None:
            return f"press: {self.press}"
        if self.send is not None:
            return f"send: {self.send.type}"
        if self.wait is not None:
            return f"wait: {self.wait}"
        if self.enter is not None:
            return f"enter: {self.enter}"
        if self.run_task is not None:
            return f"run_task: {self.run_task.task}"
        return "set_data" if self.set_data is not None else "checks"


class LLMAnswerSpec(_Spec):
    """A scripted LLM answer: text in scope, out of scope, or an error."""

    text: str = ""
    in_scope: bool = True
    error: Literal["timeout", "unavailable", "rejected"] | None = None


class ContactSpec(_Spec):
    id: str = DEFAULT_CONTACT
    name: str = ""
    language: str = ""


class StartSpec(_Spec):
    """Start anywhere: `data` is put in place, then `state` is entered (its `on_enter` runs)."""

    state: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data", mode="before")
    @classmethod
    def _data_as_written(cls, value: Any) -> Any:
        return _as_written(value)


class ConversationTest(_Spec):
    name: str | None = None
    tenant: str | None = None
    flow: str | None = None
    timezone: str | None = None
    clock: datetime | None = None
    contact: ContactSpec = Field(default_factory=ContactSpec)
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    llm: list[str | LLMAnswerSpec] | None = None
    knowledge: str | None = None
    #: The channel the test is written for (`botfleet test --channel` then leaves it be): a
    #: suite covers a tenant's channel and its more channels in one run.
    channel: Literal["webchat", "whatsapp", "telegram"] | None = None
    start: StartSpec | None = None
    steps: list[StepSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_subject(self) -> ConversationTest:
        if (self.tenant is None) == (self.flow is None):
            raise ValueError("give exactly one of 'tenant' (a tenant file) or 'flow' (a flow file)")
        if self.timezone is not None and self.tenant is not None:
            raise ValueError("'timezone' is for flow tests; a tenant file has its own")
        return self


class ConversationTestError(ValueError):
    """A test file is unusable; `problems` are `file:line path: message` lines."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True, slots=True)
class LoadedTest:
    spec: ConversationTest
    source: str
    lines: Mapping[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name or Path(self.source).stem

    def resolve(self, relative: str) -> Path:
        return Path(self.source).parent / relative

    def where(self, path: str) -> str:
        line = yaml_lines.line_of(self.lines, path)
        return self.source if line is None else f"{self.source}:{line}"


def read_yaml_file(path: str | Path) -> yaml_lines.LocatedDocument:
    """A test (or fixtures) file's YAML with its lines. Raises `ConversationTestError` naming
    the file, and the line where there is one."""
    source = str(path)
    try:
        return yaml_lines.load_with_lines(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConversationTestError([f"{source}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        line, message = not_utf8(exc)
        raise ConversationTestError([f"{source}:{line}: {message}"]) from None
    except yaml_lines.YamlSyntaxError as exc:
        where = source if exc.problem.line is None else f"{source}:{exc.problem.line}"
        raise ConversationTestError([f"{where}: {exc.problem.message}"]) from None


def load_conversation_test(path: str | Path) -> LoadedTest:
    """Read and validate a test file. Raises `ConversationTestError` naming file:line and path."""
    source = str(path)
    document = read_yaml_file(path)
    other = _other_kind(document.data)
    if other is not None:
        # Read as a test, each of its keys would be an error: say what it is instead.
        key = "tenant" if other == "a tenant file" else "flow"
        raise ConversationTestError(
            [
                f"{source}:1: {other}, not a conversation test: check it with `botfleet validate "
                f"{source}`; a test runs it with `{key}: <its path from the test file>`"
            ]
        )
    collector = IssueCollector(source, document.lines)
    for duplicate in document.duplicates:
        collector.error(duplicate.path, duplicate.message)
    try:
        spec = ConversationTest.model_validate(document.data)
    except ValidationError as exc:
        report_schema_errors(exc, ConversationTest, collector)
        spec = None
    if spec is None or collector.issues:
        raise ConversationTestError([str(i) for i in collector.issues] or [f"{source}: invalid"])
    return LoadedTest(spec, source, document.lines)


def _other_kind(data: Any) -> str | None:
    """ "a flow" or "a tenant file" for a file with no `steps` that is one, else None."""
    if not isinstance(data, dict) or "steps" in data:
        return None
    if "tenant_id" in data:
        return "a tenant file"
    return "a flow" if "states" in data else None


#: Top-level keys only a conversation test has: a file with one of them (or with a key close to
#: `steps`, such as `step:`) is a test, and is reported when it is broken rather than skipped.
TEST_KEYS = ("steps", "tenant", "flow")


@dataclass(frozen=True, slots=True)
class TestSearch:
    """The test files under some paths, and the YAML files passed over with the reason."""

    __test__ = False  # not a pytest class, despite its name

    found: list[Path]
    skipped: list[tuple[Path, str]]


def find_conversation_tests(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders searched for test files (see `search_conversation_tests`)."""
    return search_conversation_tests(paths).found


def search_conversation_tests(paths: Iterable[str | Path]) -> TestSearch:
    """Files as given; folders searched recursively for YAML files that are tests. Flows,
    tenant files and YAML with no test key are skipped, each with the reason; a file that
    looks like a test (a test key, a `test_` name, or YAML too broken to tell) is kept, so
    that running it reports what is wrong."""
    search = TestSearch([], [])
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            search.found.append(path)
            continue
        for candidate in sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")]):
            reason = _not_a_test(candidate)
            if reason is None:
                search.found.append(candidate)
            else:
                search.skipped.append((candidate, reason))
    return search


def _not_a_test(path: Path) -> str | None:
    """Why `path` is not a conversation test, or None when it is one (or may be)."""
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # let loading report what is wrong with it
    named_as_test = path.stem.startswith("test_") or path.stem.endswith("_test")
    if not isinstance(data, dict):
        return None if named_as_test else "not a mapping of keys"
    if "steps" in data:
        return None
    # Before the other test keys: a tenant file may have an inline `flow`.
    other = _other_kind(data)
    if other is not None:
        return other
    keys = [str(k) for k in data]
    if any(k in TEST_KEYS for k in keys) or difflib.get_close_matches("steps", keys, cutoff=0.75):
        return None
    if named_as_test:
        return None
    return f"no {', '.join(repr(k) for k in TEST_KEYS[:-1])} or {TEST_KEYS[-1]!r} key"
