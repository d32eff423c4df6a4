"""Conversation tests in YAML, run through the real runtime (`botfleet test`, pytest).

    name: booking a haircut
    tenant: ../../examples/tenants/demo.yaml      # or `flow:` (paths relative to this file)
    clock: 2024-05-06T09:00:00+02:00              # frozen; `wait:` steps move it
    connectors: {calendar: {busy: [{start: 2024-05-06T10:00, end: 2024-05-06T11:00}]}}
    llm: ["We open at 10."]                       # scripted answers, in order
    steps:
      - say: hola
        expect:
          - text: "Hi! Welcome to Bella Hair Studio. What would you like to do?"
            buttons: [menu_book, menu_view, menu_cancel]
        state: MENU
      - press: menu_book
        expect: [{contains: "service", options: [service_haircut, service_colour, service_beard]}]

Each test runs in a `Sandbox` (`botfleet.testing.sandbox`: the real runtime, in-memory stores,
mock connectors or the test's fixtures, the scripted LLM, a frozen clock) with strict templates,
and stops at its first failing step. The bot is on the tenant's channel (or the one asked for):
its outputs are checked as that channel gets them, fitted to its limits, and a `press:` reaches
it as that channel delivers the press (`sandbox_channels`). The format is `conversation_format`;
docs/authoring.md documents it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any, Literal
from zoneinfo import ZoneInfo

from botfleet.adapters.llm.options import llm_options
from botfleet.domain.errors import (
    ConfigError,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
    FlowValidationError,
)
from botfleet.domain.outputs import Buttons, ListMenu, Output, options_of
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping
from botfleet.flows._issues import did_you_mean
from botfleet.flows.connector_names import is_named_binding
from botfleet.flows.durations import parse_duration
from botfleet.flows.load import Flow
from botfleet.flows.tenant_file import display_path, not_a_file, read_tenant_file
from botfleet.ports.connectors import Answer
from botfleet.testing.contact_language import unsent_language
from botfleet.testing.conversation_calls import ScriptedCalls, watch_scripted_calls
from botfleet.testing.conversation_format import (
    ConversationTestError,
    LLMAnswerSpec,
    LoadedTest,
    NotificationExpectation,
    OutputExpectation,
    StepSpec,
    find_conversation_tests,
    load_conversation_test,
)
from botfleet.testing.fixture_errors import config_error_lines
from botfleet.testing.llm import ScriptedLLM, in_scope, out_of_scope
from botfleet.testing.sandbox import (
    Contact,
    Sandbox,
    SentNotification,
    describe_output,
    no_such_task,
    open_sandbox,
    output_kind,
    output_text,
    sandbox_config,
    tenant_flow,
)
from botfleet.testing.sandbox_channels import Press, sandbox_channel, tenant_channel

__all__ = [
    "ConversationResult",
    "find_conversation_tests",
    "load_conversation_test",
    "run_conversation_test",
    "run_conversation_tests",
]

_LLM_ERRORS = {
    "timeout": ConnectorTimeout,
    "unavailable": ConnectorUnavailable,
    "rejected": ConnectorRejected,
}


@dataclass(frozen=True, slots=True)
class ConversationResult:
    """How one test file went. `message` is ready to print (file:line, step, what differed)."""

    name: str
    source: str
    status: Literal["passed", "failed", "error"]
    message: str = ""
    steps: int = 0
    duration_s: float = 0.0
    flow: Flow | None = None
    fired: tuple[str, ...] = ()
    entered: tuple[str, ...] = ()
    #: `file:line path: [warning] ...` lines: what the run did not do as the test says, though
    #: it is no failure (a `contact.language` the channel asked for never sends).
    warnings: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "passed"


class _StepFailed(Exception):
    def __init__(self, message: str, steps: int) -> None:
        super().__init__(message)
        self.message, self.steps = message, steps


def _test_config(test: LoadedTest) -> tuple[TenantConfig, Flow]:
    spec = test.spec
    if spec.tenant is not None:
        config, flow = _test_tenant(test, spec.tenant)
    else:
        assert spec.flow is not None  # one of the two, checked by the model
        flow_file = test.resolve(spec.flow)
        problem = not_a_file(flow_file)
        if problem is not None:
            raise ConversationTestError([f"{test.where('flow')} flow: {problem}"])
        raw = {
            "tenant_id": "test",
            "name": "Test",
            "timezone": spec.timezone or "Europe/Madrid",
            "flow_path": str(flow_file.resolve()),
        }
        config = tenant_config_from_mapping(raw, source=test.source)
        flow = tenant_flow(config)
    # A flow test has no tenant to turn the LLM on: scripting answers does. A tenant's test runs
    # its LLM as served, off unless the tenant enables it (`_llm_off`).
    enable = True if spec.llm is not None and spec.tenant is None else None
    try:
        mocked = sandbox_config(
            config,
            flow.spec,
            spec.connectors,
            llm_enabled=enable,
            knowledge=spec.knowledge,
            default_calendar=spec.tenant is None,  # a flow test has no calendar settings
        )
    except ConfigError as exc:  # the tenant's calendar, as the data plane would refuse it
        raise ConversationTestError(config_error_lines(test, exc)) from None
    return mocked, flow


def _test_tenant(test: LoadedTest, tenant: str) -> tuple[TenantConfig, Flow]:
    """The test's tenant and its flow; their problems are located in the tenant's files, as
    `botfleet validate` words them, so a missing `flow_path` names the tenant file's line."""
    path = test.resolve(tenant)
    problem = not_a_file(path)
    if problem is not None:
        raise ConversationTestError([f"{test.where('tenant')} tenant: {problem}"])
    # A test's own `knowledge:` replaces the tenant's knowledge file, which is then not read.
    read = read_tenant_file(display_path(path), knowledge=test.spec.knowledge is None)
    if read.errors or read.config is None or read.flow is None:
        raise ConversationTestError(str(i) for i in read.errors)
    return read.config, read.flow


def _check_run_tasks(test: LoadedTest, flow: Flow) -> None:
    """Each `run_task:` names one of the flow's tasks, else the test is in error before it runs:
    `file:line steps[2].run_task.task: step 3 (run_task: team_rply): the flow has no task
    'team_rply' (did you mean 'team_reply'?); its tasks: reminder, team_reply`.

    Raises:
        ConversationTestError: every step whose task the flow does not have.
    """
    tasks = flow.spec.tasks
    problems = []
    for index, step in enumerate(test.spec.steps):
        if step.run_task is None or step.run_task.task in tasks:
            continue
        name = step.run_task.task
        path = f"steps[{index}].run_task.task"
        problems.append(
            f"{test.where(path)} {path}: step {index + 1} ({step.describe()}): "
            f"{no_such_task(name, tasks, listing=True)}"
        )
    if problems:
        raise ConversationTestError(problems)


def _contact(test: LoadedTest) -> Contact:
    spec = test.spec.contact
    return Contact(spec.id, spec.name, spec.language)


def _scripted_llm(items: list[str | LLMAnswerSpec] | None) -> ScriptedLLM:
    script: list[Answer | BaseException] = []
    for item in items or []:
        if isinstance(item, str):
            script.append(in_scope(item))
        elif item.error is not None:
            script.append(_LLM_ERRORS[item.error](f"scripted LLM {item.error}"))
        else:
            script.append(in_scope(item.text) if item.in_scope else out_of_scope())
    return ScriptedLLM(script)


async def run_conversation_test(
    test: LoadedTest | str | Path, *, channel: str | None = None
) -> ConversationResult:
    """Run one test file; problems with the file itself come back as status "error".

    `channel`: the channel the bot is on, one of `sandbox_channels.CHANNELS` (default the
    tenant's, `tenant_channel`; a flow test's is the web chat).

    Raises:
        ValueError: `channel` is not one a sandbox can play.
    """
    asked = None if channel is None else sandbox_channel(channel)
    started = perf_counter()
    source = test.source if isinstance(test, LoadedTest) else str(test)
    # A test whose file reads is named by its `name:` in an error too, as when it runs: a
    # broken flow or tenant file is the test's error, not one of an unnamed file.
    name = Path(source).stem
    try:
        loaded = test if isinstance(test, LoadedTest) else load_conversation_test(test)
        name = loaded.name
        config, flow = _test_config(loaded)
        _check_run_tasks(loaded, flow)
    except ConversationTestError as exc:
        return ConversationResult(name, source, "error", str(exc))
    except (ConfigError, FlowValidationError, OSError) as exc:
        return ConversationResult(name, source, "error", f"{source}: {exc}")
    llm = _scripted_llm(loaded.spec.llm)
    own = sandbox_channel(tenant_channel(config))
    # The test's own channel first: written for the web chat, it passes nowhere else.
    written = loaded.spec.channel
    on = sandbox_channel(written) if written is not None else asked or own
    more_kinds = [binding.type for binding in config.more_channels]
    unsent = unsent_language(loaded, on, own, config.language, more_kinds)
    if unsent is not None and unsent[0] == "error":
        return ConversationResult(loaded.name, source, "error", unsent[1], flow=flow)
    warnings = () if unsent is None else (unsent[1],)
    off = _llm_off(loaded, config)
    if off is not None:
        return ConversationResult(loaded.name, source, "failed", off, flow=flow, warnings=warnings)
    status: Literal["passed", "failed", "error"] = "passed"
    message, done = "", 0
    sandbox: Sandbox | None = None
    try:
        async with open_sandbox(
            config,
            at=loaded.spec.clock,
            llm=llm,
            strict=True,
            contact=_contact(loaded),
            channel=on,
        ) as sandbox:
            done = await _run_steps(loaded, sandbox, llm, watch_scripted_calls(sandbox))
    except _StepFailed as exc:
        status, message, done = "failed", exc.message, exc.steps
    except ConfigError as exc:  # a connector the sandbox builds, as the data plane would
        status, message = "error", "\n".join(config_error_lines(loaded, exc))
    return ConversationResult(
        loaded.name,
        source,
        status,
        message,
        done,
        perf_counter() - started,
        flow,
        tuple(sandbox.fired) if sandbox else (),
        tuple(sandbox.entered) if sandbox else (),
        warnings,
    )


def _llm_off(test: LoadedTest, config: TenantConfig) -> str | None:
    """Why the test's scripted LLM answers can never be given: its tenant's LLM is off, so, as
    served, no question reaches the LLM (None when they can)."""
    if not test.spec.llm:
        return None
    try:
        if llm_options(config).enabled:  # as the data plane reads it
            return None
    except ConfigError:  # the tenant's LLM settings are wrong: opening the bot says how
        return None
    return (
        f"{test.where('llm')} llm: the test scripts LLM answers, but the tenant's LLM is not "
        f"enabled, so the bot never asks it (as served, and as `botfleet chat`): add "
        f"`llm: {{enabled: true}}` to {config.source} (`connectors.llm` only picks the "
        "provider), or take the answers out of the test"
    )


async def run_conversation_tests(
    paths: Iterable[str | Path], *, channel: str | None = None
) -> list[ConversationResult]:
    """Every test found under `paths` (files, or folders searched recursively), in order, each
    on `channel` (default its tenant's: `run_conversation_test`)."""
    found = find_conversation_tests(paths)
    return [await run_conversation_test(path, channel=channel) for path in found]


async def _run_steps(
    test: LoadedTest, sandbox: Sandbox, llm: ScriptedLLM, calls: ScriptedCalls
) -> int:
    spec = test.spec
    if spec.start is not None:
        try:
            await sandbox.enter(spec.start.state, spec.start.data)
        except Exception as exc:
            raise _StepFailed(f"{test.where('start')}: start: {_error_text(exc)}", 0) from None
        # A task `start`'s state scheduled for at once, or a call the fixtures do not script.
        broken = [f.describe() for f in sandbox.task_failures] + calls.unscripted_since({})
        if broken:
            raise _StepFailed(f"{test.where('start')}: start: {broken[0]}", 0)
    scripted = len(llm.script)
    for index, step in enumerate(spec.steps):
        asked = len(llm.calls)
        heading = f"{test.where(f'steps[{index}]')}: step {index + 1} ({step.describe()})"
        press, press_notes = await _pressed(sandbox, step, heading, index + 1)
        sent_before = len(sandbox.notifications)
        failed_before = len(sandbox.task_failures)
        outputs_before = len(sandbox.sender.sent)
        calls_before = calls.mark()
        try:
            outputs = await _act(sandbox, step, press)
        except Exception as exc:
            failed = f"{heading}\n  the turn failed: {_error_text(exc)}"
            failed += "".join(f"\n  {note}" for note in press_notes)
            raise _StepFailed(failed, index + 1) from None
        unscripted = llm.calls[max(asked, scripted) :]
        # A failed task sent nothing: `expect: []` would pass on it, as on a task that ran.
        problems = [f.describe() for f in sandbox.task_failures[failed_before:]]
        problems += [_unanswered(c.question, spec.llm is None) for c in unscripted]
        problems += calls.unscripted_since(calls_before)
        notified = sandbox.notifications[sent_before:]
        own = step.contact or sandbox.contact.id
        others = _sent_to_others(sandbox, own, outputs_before)
        problems += await _check_step(sandbox, step, outputs, notified)
        problems += _check_sent_to(step, own, outputs, others)
        if problems:
            problems[:0] = press_notes
            if step.wait is not None:  # what a reminder's time is compared with
                problems.append(f"the clock now reads {_clock(sandbox)}")
            shown = notified if notified or step.notified is not None else None
            failure = _failure(heading, problems, outputs, sandbox.channel.name, shown, others)
            raise _StepFailed(failure, index + 1)
    if llm.script:
        unused = ", ".join(repr(a.text) if isinstance(a, Answer) else repr(a) for a in llm.script)
        message = f"{test.where('llm')}: the LLM was never asked for: {unused}"
        if not sandbox.runtime.live.knowledge.strip():
            message += " (the tenant has no knowledge, so no question reaches the LLM: give the "
            message += "test a `knowledge:` text)"
        raise _StepFailed(message, len(spec.steps))
    return len(spec.steps)


def _checks(step: StepSpec) -> bool:
    checks = (step.expect, step.sent_to, step.state, step.data, step.tasks, step.notified)
    return any(c is not None for c in checks)


async def _pressed(
    sandbox: Sandbox, step: StepSpec, heading: str, number: int
) -> tuple[Press | None, list[str]]:
    """What the channel delivers for the step's `press:` (None for another step), and the notes
    a failure of the step starts with (how the press went, when that explains it).

    Raises:
        _StepFailed: the press cannot be made on the channel, or was not offered and the step
            does not check what the bot does with it.
    """
    if step.press is None or step.enter is not None:
        return None, []
    press = await sandbox.press_of(step.press, contact=step.contact)
    if press.route == "number":
        # The channel showed no button nor row to press: no check can make the step real.
        raise _StepFailed(f"{heading}\n  {_numbered(sandbox, step, press)}", number)
    if press.route == "position":
        return press, [_by_position(sandbox, step, press)]
    # A press of an id not among the options last shown is a typo, or the bot is not where
    # the test thinks: it fails here, unless the step checks what the bot does with it (a
    # button of an older message on purpose) and those checks hold.
    not_offered = _not_offered(sandbox, step, press)
    if not_offered and not _checks(step):
        raise _StepFailed(f"{heading}\n  {not_offered}", number)
    return press, [not_offered] if not_offered else []


def _numbered(sandbox: Sandbox, step: StepSpec, press: Press) -> str:
    """Why a `press:` of an option shown as numbered text fails, and what to write instead."""
    return (
        f"press: {step.press!r} cannot be pressed on {sandbox.channel.name}: the menu that "
        "offers it was sent as numbered text, with nothing to press (docs/channels.md, "
        '"Limits and degradation"); the contact types its number instead: '
        f'say: "{press.text}"'
    )


def _by_position(sandbox: Sandbox, step: StepSpec, press: Press) -> str:
    return (
        f"press: {step.press!r} went by position on {sandbox.channel.name} (its id is too long "
        f'for the channel): the bot got the typed "{press.text}" of that menu'
    )


def _not_offered(sandbox: Sandbox, step: StepSpec, press: Press) -> str | None:
    """What is wrong with a `press:` whose id is not among the options last shown to the
    contact, or None. Before any menu was shown, any id may be pressed (a payload as a first
    message)."""
    if press.route != "unshown":
        return None
    assert step.press is not None  # a press step, or there would be no press
    offered = sandbox.offered(step.contact)
    if offered is None:
        return None
    hint = did_you_mean(step.press, [o.id for o in offered])
    shown = "\n".join(f"    {o.id}  ({o.title})" for o in offered)
    return (
        f"press: {step.press!r} was not offered{hint}; the options last shown were:\n{shown}\n"
        "  (to press an id no menu offers on purpose, e.g. a button of an older message, say "
        "what should happen with `state:` or `expect:` on the step)"
    )


def _unanswered(question: str, no_list: bool) -> str:
    """The LLM was asked more than the test scripted: what to add, and why the chat differs."""
    # `botfleet chat` answers the same question from the knowledge file, so an author expects
    # the test to as well: say that a test never does, and what to write instead.
    if no_list:
        return (
            f"the LLM was asked {question!r}, but the test has no `llm:` list\n"
            "add `llm:` to the test with the answer the LLM should give, e.g. "
            'llm: ["..."] (a test never calls a real LLM nor answers from the knowledge '
            "file, as `botfleet chat` does)"
        )
    return (
        f"the LLM was asked {question!r}, but the test's `llm:` list has no answer left\n"
        "add the answer the LLM should give to the list (answers are used in order)"
    )


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def _act(sandbox: Sandbox, step: StepSpec, press: Press | None) -> list[Output]:
    if step.set_data is not None or step.enter is not None:
        entered = await sandbox.enter(step.enter, step.set_data, contact=step.contact)
        if step.enter is not None:
            return entered
    if step.say is not None:
        return await sandbox.say(step.say, contact=step.contact)
    if press is not None:
        return await sandbox.deliver(press, contact=step.contact)
    if step.send is not None:
        message = step.send
        return await sandbox.send(
            message.type,
            text=message.text,
            payload=message.payload,
            extra=message.extra,
            contact=step.contact,
        )
    if step.wait is not None:
        return await sandbox.wait(parse_duration(step.wait), contact=step.contact)
    if step.run_task is not None:
        run = step.run_task
        return await sandbox.run_task(run.task, run.data, contact=step.contact)
    return []


async def _check_step(
    sandbox: Sandbox,
    step: StepSpec,
    outputs: list[Output],
    notified: list[SentNotification] | None = None,
) -> list[str]:
    problems = _check_outputs(step.expect, outputs) if step.expect is not None else []
    if step.notified is not None:
        problems += _check_notifications(step.notified, notified or [])
    state = await sandbox.state(step.contact)
    if step.state is not None and state.node != step.state:
        known = "" if step.state in sandbox.flow.states else " (the flow has no such state)"
        problems.append(f"state: expected {step.state}{known}, got {state.node}")
    if step.data is not None:
        problems += _check_subset(step.data, dict(state.data), "data")
    if step.tasks is not None:
        jobs = await sandbox.scheduler.jobs(contact_id=state.contact_id)
        pending = sorted(j.task for j in jobs)
        if pending != sorted(step.tasks):
            problems.append(
                f"tasks: expected {sorted(step.tasks)}, scheduled {pending}"
                + _unknown_tasks(sandbox, step.tasks)
            )
    return problems


def _sent_to_others(sandbox: Sandbox, own: str, before: int) -> dict[str, list[Output]]:
    """What the bot sent since `before` to contacts other than the step's (`own`), by contact,
    in the order they were first sent something: reminders of theirs that fell due in a `wait`."""
    others: dict[str, list[Output]] = {}
    for contact, output in sandbox.sender.sent[before:]:
        if contact != own:
            others.setdefault(contact, []).append(output)
    return others


def _check_sent_to(
    step: StepSpec, own: str, outputs: list[Output], others: Mapping[str, list[Output]]
) -> list[str]:
    """`sent_to`: each contact's outputs during the step, all of them, in order, as `expect`
    checks the step's own contact's (`own`, whose outputs are `outputs`)."""
    problems: list[str] = []
    for contact, expected in (step.sent_to or {}).items():
        got = outputs if contact == own else others.get(contact, [])
        problems += [f"sent_to {contact}: {p}" for p in _check_outputs(expected, got)]
    return problems


def _clock(sandbox: Sandbox) -> str:
    """The sandbox's clock in the tenant's zone, as a person reads it: `Sun 31 Mar 2024 10:00
    (+02:00, Europe/Madrid)`; a `wait` across a DST change moves the wall clock by more or less
    than it says."""
    zone = sandbox.runtime.ctx.tenant.timezone
    now = sandbox.clock.now().astimezone(ZoneInfo(zone))
    offset = now.strftime("%z")
    return f"{now:%a} {now.day} {now:%b %Y %H:%M} ({offset[:3]}:{offset[3:]}, {zone})"


def _unknown_tasks(sandbox: Sandbox, names: Iterable[str]) -> str:
    """`; the flow has no task 'remindr' (did you mean 'reminder'?)` for a misspelt name, as
    `state:` says of a state: else the failure reads as if the flow never scheduled it."""
    tasks = sandbox.flow.tasks
    unknown = sorted({n for n in names if n not in tasks})
    return "".join(f"; {no_such_task(n, tasks)}" for n in unknown)


# ---------------------------------------------------------------- output checks


def _check_outputs(expected: list[OutputExpectation], outputs: list[Output]) -> list[str]:
    problems: list[str] = []
    if len(expected) != len(outputs):
        problems.append(f"expected {len(expected)} output(s), the bot sent {len(outputs)}")
    for number, (want, got) in enumerate(zip(expected, outputs, strict=False), start=1):
        problems += [f"output {number} {p}" for p in _check_output(want, got)]
    return problems


def _check_output(want: OutputExpectation, got: Output) -> list[str]:
    problems: list[str] = []
    kind = output_kind(got)
    if want.type is not None and kind != want.type:
        problems.append(f"type: expected {want.type}, got {kind}")
    text = output_text(got)
    if want.text is not None and text != want.text:
        problems.append(_text_diff(want.text, text))
    if want.contains is not None and want.contains not in text:
        problems.append(f"text:\nexpected to contain {want.contains!r}\ngot {text!r}")
    if want.regex is not None and re.search(want.regex, text) is None:
        problems.append(f"text:\nexpected to match /{want.regex}/\ngot {text!r}")
    # Options as the channel shows them: the outputs are degraded (titles cut, a list turned
    # into numbered text offers none), for `titles` and `descriptions` as for the ids.
    options = options_of(got)
    ids = [o.id for o in options]
    if want.buttons is not None and (not isinstance(got, Buttons) or ids != want.buttons):
        problems.append(f"buttons: expected {want.buttons}, got {kind} {ids}")
    if want.options is not None and ids != want.options:
        problems.append(f"options: expected {want.options}, got {ids}")
    missing = [i for i in want.options_include or [] if i not in ids]
    if missing:
        problems.append(f"options: expected to include {missing}, got {ids}")
    titles = [o.title for o in options]
    if want.titles is not None and titles != want.titles:
        problems.append(f"titles: expected {want.titles}, got {titles}")
    # Only a list shows a second line: a button's description is never sent.
    descriptions = [o.description if isinstance(got, ListMenu) else "" for o in options]
    if want.descriptions is not None and descriptions != want.descriptions:
        problems.append(f"descriptions: expected {want.descriptions}, got {descriptions}")
    return problems


# ---------------------------------------------------------------- notification checks


def _check_notifications(
    expected: list[NotificationExpectation], sent: list[SentNotification]
) -> list[str]:
    """The step's notifications, all of them, in order (as `expect` checks outputs)."""
    problems: list[str] = []
    if len(expected) != len(sent):
        problems.append(
            f"notified: expected {len(expected)} notification(s), the flow sent {len(sent)}"
        )
    for number, (want, got) in enumerate(zip(expected, sent, strict=False), start=1):
        problems += [f"notification {number} {p}" for p in _check_notification(want, got)]
    return problems


def _check_notification(want: NotificationExpectation, got: SentNotification) -> list[str]:
    problems: list[str] = []
    if want.connector is not None and got.category != want.connector:
        problems.append(f"connector: expected {want.connector}, got {got.category}")
    if want.event is not None and got.event != want.event:
        problems.append(f"event: expected {want.event}, got {got.event}")
    if want.contact_id is not None and got.contact_id != want.contact_id:
        problems.append(f"contact_id: expected {want.contact_id!r}, got {got.contact_id!r}")
    text = got.text or ""
    if want.text is not None and got.text != want.text:
        problems.append(_text_diff(want.text, text))
    if want.contains is not None and want.contains not in text:
        problems.append(f"text:\nexpected to contain {want.contains!r}\ngot {got.text!r}")
    if want.data is not None:
        problems += _check_subset(want.data, got.data, "data")
        extra = [str(k) for k in got.data if k not in want.data]
        if extra:
            problems.append(f"data: not expected {', '.join(extra)} (`data_include` checks some)")
    if want.data_include is not None:
        problems += _check_subset(want.data_include, got.data, "data")
    return problems


def _notified(sent: SentNotification) -> str:
    """What the flow notified; the binding is named when it is not the category's default
    (`notification.crm: booking_created {...}`), the one a flow with one hook always uses."""
    if is_named_binding(sent.category):
        return f"{sent.category}: {sent.describe()}"
    return sent.describe()


def _text_diff(want: str, got: str) -> str:
    if "\n" not in want and "\n" not in got:
        return f"text:\nexpected {want!r}\ngot      {got!r}"
    diff = difflib.unified_diff(
        want.splitlines(), got.splitlines(), "expected", "got", lineterm="", n=1
    )
    return "text differs:\n" + "\n".join(diff)


def _check_subset(want: Any, got: Any, path: str) -> list[str]:
    """`want` must be in `got`: mappings key by key (dotted keys reach into nested data)."""
    if isinstance(want, Mapping):
        if not isinstance(got, Mapping):
            return [f"{path}: expected a mapping, got {got!r}"]
        problems: list[str] = []
        for key, value in want.items():
            found, present = _lookup(got, str(key))
            if not present:
                problems.append(f"{path}.{key}: missing (have: {', '.join(map(str, got))})")
            else:
                problems += _check_subset(value, found, f"{path}.{key}")
        return problems
    if (want == got and type(want) is type(got)) or (isinstance(want, float) and want == got):
        return []
    return [f"{path}: expected {_typed(want)}, got {_typed(got)}"]


def _lookup(data: Mapping[str, Any], key: str) -> tuple[Any, bool]:
    if key in data:
        return data[key], True
    head, _, rest = key.partition(".")
    if rest and isinstance(data.get(head), Mapping):
        return _lookup(data[head], rest)
    return None, False


def _typed(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _failure(
    heading: str,
    problems: list[str],
    outputs: list[Output],
    channel: str,
    notified: list[SentNotification] | None = None,
    others: Mapping[str, list[Output]] | None = None,
) -> str:
    """The failed step: its problems, what the bot sent on `channel` (fitted to its limits, so
    named: the same step may pass on another), what it sent other contacts meanwhile (their
    reminders in a `wait`: else a reminder sent to the wrong contact reads as none sent) and
    (`notified` given) what the flow notified."""
    lines = [heading]
    lines += ["  " + p.replace("\n", "\n    ") for p in problems]
    lines.append(f"  the bot sent on {channel}:" if outputs else "  the bot sent nothing")
    lines += _numbered_outputs(outputs)
    for contact, sent in (others or {}).items():
        lines.append(f"  the bot also sent {contact!r} (check with sent_to):")
        lines += _numbered_outputs(sent)
    if notified is not None:
        lines.append("  the flow notified:" if notified else "  the flow notified nothing")
        lines += [f"    {n}) {_notified(sent)}" for n, sent in enumerate(notified, start=1)]
    return "\n".join(lines)


def _numbered_outputs(outputs: list[Output]) -> list[str]:
    lines: list[str] = []
    for number, output in enumerate(outputs, start=1):
        first, *rest = describe_output(output)
        # A text of several lines (options sent as numbered text) stays under its number.
        head, *more = first.split("\n")
        lines.append(f"    {number}) {head}")
        lines += [f"       {line}" if line else "" for line in [*more, *rest]]
    return lines
