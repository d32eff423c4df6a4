"""One turn's step loop: run the engine, carry out its effects, feed connector answers back
(and, where the state asks for it, how the LLM's question went: `LLMReplied`).

Nothing is persisted here; the runtime commits the outcome in one transaction afterwards. The
effects carried out before that commit are safe to repeat when a crash makes the turn run
again: connector calls carry idempotency keys derived from the message id (merged texts': the
first text's, the one a replay starts the batch with again), scheduled tasks their own keys,
a `delay` counts from the turn's own moment (`delay_from`), not the clock, so the job stored
again has the same due time, and a one-off task's run is recorded when it commits, so a job
stored again after it ran does not run again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from botfleet.data_plane.observability import turn_identity
from botfleet.data_plane.runtime.cancellation import being_cancelled, stray_cancellation_as_error
from botfleet.data_plane.runtime.contact_log import ContactLog
from botfleet.domain.built_in_texts import built_in_texts
from botfleet.domain.errors import ConnectorError, ConnectorUnavailable, TemplateError
from botfleet.domain.outputs import Output, Text
from botfleet.flows import effects
from botfleet.flows.effects import Diagnostic
from botfleet.flows.engine import StepContext, StepResult, step
from botfleet.flows.events import (
    ConnectorFailed,
    ConnectorReplied,
    Event,
    LLMReplied,
    MessageReceived,
    TaskFired,
)
from botfleet.flows.schema import FlowSpec
from botfleet.flows.state import HISTORY_LIMIT, ConversationState, Turn
from botfleet.flows.turn import flow_error_text, turn_language
from botfleet.ports.clock import Clock
from botfleet.ports.connectors import ConnectorCaller, LLMContext, LLMFallback, LLMReply
from botfleet.ports.scheduling import RunAtPassed, TaskScheduler, one_off_run_id

if TYPE_CHECKING:
    from botfleet.data_plane.runtime.redelivery import Redelivery

#: Connector calls one turn may make before the runtime stops it (a hostile flow's loop guard).
MAX_CALLS_PER_TURN = 25

#: Sees every engine step's result, in order (authoring tools: which states and transitions ran).
StepObserver = Callable[[StepResult], None]


class StepDeps(Protocol):
    """What the loop needs from the runtime (read on every turn: they may be swapped live)."""

    ctx: StepContext
    connectors: ConnectorCaller
    clock: Clock
    llm: LLMFallback | None
    scheduler: TaskScheduler | None
    step_observer: StepObserver | None
    #: Keeps the failed calls of bindings that redeliver (`redelivery`); None: none do.
    redelivery: Redelivery | None


@dataclass(slots=True)
class StepOutcome:
    """The state to commit and the outputs to send, before channel degradation."""

    state: ConversationState
    outputs: list[Output]
    #: Runs of the one-off jobs the turn stored (`one_off_run_id`): a task's run that asks for
    #: itself again is a new run, not one to record as done.
    scheduled_runs: set[str] = field(default_factory=set)
    #: The language of the platform's words for the turn, before the tenant's: the last step's
    #: `StepResult.language` (the words degradation adds to the outputs take it).
    language: str = ""
    #: Every step's diagnostics, in order (as logged), and a strict template's failure as a
    #: `template_error`: what `POST /run-task` answers as the run's `warnings`.
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: A strict run's `schedule_task`s and `cancel_task`s, in order, not carried out yet: the
    #: caller does it (`carry_out_held`) once the turn is sure to commit.
    held: list[effects.ScheduleTask | effects.CancelTask] = field(default_factory=list)


async def run_steps(
    deps: StepDeps,
    flow: FlowSpec,
    state: ConversationState,
    event: Event,
    log: ContactLog,
    *,
    delay_from: datetime | None = None,
    strict: bool = False,
    diagnostics: list[Diagnostic] | None = None,
) -> StepOutcome:
    """Step the engine with `event`, then with each connector answer, until it settles.

    `delay_from`: the moment the turn stands for, the same when it runs again (the message's
    reception, the task run's moment), given to every step: a `delay` counts from it. Without
    it, from the clock at each step.

    `strict`: a strict manual run (`POST /run-task` with `strict`): templates render strictly,
    so a missing value raises `TemplateError` out of here, and the turn's scheduling is held in
    `StepOutcome.held`, so a turn refused at a later step has scheduled nothing.
    `diagnostics`: filled as the steps go (the outcome's), so the caller still has the earlier
    steps' when a strict template raises.
    """
    # The connector layer and the LLM fallback are handed no `ContactLog`: their lines get the
    # turn's tenant and hashed contact from here.
    with turn_identity(deps.ctx.tenant.id, log):
        found = [] if diagnostics is None else diagnostics
        return await _run_steps(deps, flow, state, event, log, delay_from, strict, found)


async def _run_steps(
    deps: StepDeps,
    flow: FlowSpec,
    state: ConversationState,
    event: Event,
    log: ContactLog,
    delay_from: datetime | None,
    strict: bool,
    diagnostics: list[Diagnostic],
) -> StepOutcome:
    ctx = _turn_context(deps, state, strict)
    outputs: list[Output] = []
    scheduled: set[str] = set()
    answered: list[str] = []  # the LLM's answers, for the history the pure step cannot see
    final = state  # the state after the last step that completed
    language: str | None = None  # the last completed step's `StepResult.language`
    held: list[effects.ScheduleTask | effects.CancelTask] | None = [] if strict else None
    try:
        result = step(flow, state, event, deps.clock.now(), ctx, delay_from=delay_from)
        for _ in range(MAX_CALLS_PER_TURN):
            final, language = result.state, result.language
            _log_diagnostics(result, log)
            diagnostics.extend(result.diagnostics)
            if deps.step_observer is not None:
                deps.step_observer(result)
            outputs.extend(result.outputs)
            pending = (
                await _apply_effects(deps, result, outputs, scheduled, log, answered, held)
                if result.effects
                else None
            )
            before = result.state
            if isinstance(pending, LLMReplied):
                # The reply is sent: its line goes before whatever the next step sends.
                before = final = _with_answers(before, answered, deps.clock.now())
                answered.clear()
                reply: Event = pending
            elif pending is None or result.state.awaiting is None:
                break
            else:
                reply = await _call(deps, pending, log)
            result = step(flow, before, reply, deps.clock.now(), ctx, delay_from=delay_from)
        else:
            # The last step's, as the guard found it.
            final, language = result.state, result.language
            log.error("turn_call_limit", limit=MAX_CALLS_PER_TURN)
            outputs.append(Text(flow_error_text(flow, language, ctx.tenant.language)))
    except TemplateError as exc:
        if ctx.strict:
            # The conversation-test runner reports it as the test's failure; a strict manual
            # run is refused with the diagnostics so far and this one.
            diagnostics.append(Diagnostic("error", "template_error", exc.where, exc.detail))
            raise
        # The flow's `strict_templates`: the step that met a missing value or a broken template
        # sends nothing of its own and moves nothing; a contact who wrote gets the flow's error
        # text. A task's turn answers nobody: an apology out of the blue would only puzzle.
        task = event.task if isinstance(event, TaskFired) else None
        if language is None:  # the turn's first step failed: the language of the state before
            message = event.message if isinstance(event, MessageReceived) else None
            language = turn_language(flow, final, deps.clock.now(), ctx, message)
        if task is None:
            log.error("template_error", where=exc.where, detail=exc.detail)
            outputs.append(Text(flow_error_text(flow, language, ctx.tenant.language)))
        else:
            log.error("template_error", where=exc.where, detail=exc.detail, task=task)
        diagnostics.append(Diagnostic("error", "template_error", exc.where, exc.detail))
    if final.awaiting is not None:  # stopped by the guard: never leave a dangling call
        final = replace(final, awaiting=None)
    if answered:
        final = _with_answers(final, answered, deps.clock.now())
    return StepOutcome(final, outputs, scheduled, language or "", diagnostics, held or [])


def _with_answers(
    state: ConversationState, answered: list[str], now: datetime
) -> ConversationState:
    """`state` with the texts the LLM fallback sent as the bot's lines of its history.

    The step recorded the question; the answer comes from outside it. Without it the next
    question's history would hold the contact's side only ("how much is it?" after an answer
    about a treatment would reach the model without the treatment)."""
    if not answered:
        return state
    turns = (Turn("bot", text, now) for text in answered)
    return replace(state, history=(*state.history, *turns)[-HISTORY_LIMIT:])


def _turn_context(deps: StepDeps, state: ConversationState, strict: bool) -> StepContext:
    """The runtime's context as this turn's steps see it."""
    ctx = deps.ctx
    if strict:
        ctx = replace(ctx, strict=True)
    if deps.scheduler is None and ctx.scheduling.enabled:
        # Read here, per turn, like the scheduler itself (`StepDeps`): a flow's `result_key`
        # must not say "scheduled" for a request `_schedule` will drop.
        ctx = replace(ctx, scheduling=replace(ctx.scheduling, enabled=False))
    if state.version == 0 and ctx.llm_available:
        # A brand-new contact's first message ("hola") reaches the state's fallback, which shows
        # the menu (flow-dsl.md, "New contacts"), even where the LLM would otherwise answer.
        ctx = replace(ctx, llm_available=False)
    return ctx


async def carry_out_held(deps: StepDeps, outcome: StepOutcome, log: ContactLog) -> None:
    """A strict run's held `schedule_task`s and `cancel_task`s (`run_steps`), in order, once
    its turn is sure to commit; the runs they store join `outcome.scheduled_runs`."""
    held, outcome.held = outcome.held, []
    for effect in held:
        await _scheduling(deps, effect, outcome.scheduled_runs, log)


async def _apply_effects(
    deps: StepDeps,
    result: StepResult,
    outputs: list[Output],
    scheduled: set[str],
    log: ContactLog,
    answered: list[str],
    held: list[effects.ScheduleTask | effects.CancelTask] | None = None,
) -> effects.CallConnector | LLMReplied | None:
    """What the engine waits for next: the connector call to make, or the LLM question's
    outcome to step it with (`AskLLM.report`); None: nothing.

    `held`: where a strict run's scheduling waits (`run_steps`); None: carried out now."""
    call: effects.CallConnector | LLMReplied | None = None
    for effect in result.effects:
        match effect:
            case effects.CallConnector():
                call = effect
            case effects.ScheduleTask() | effects.CancelTask():
                if held is not None:
                    held.append(effect)
                else:
                    await _scheduling(deps, effect, scheduled, log)
            case effects.AskLLM():
                with stray_cancellation_as_error("the LLM call"):
                    reply = await _ask_llm(deps, effect, result)
                text = reply.text if reply is not None else ""
                if text:
                    outputs.append(Text(text))
                    answered.append(text)
                if effect.report and effect.message is not None:
                    outcome = reply.outcome if reply is not None else LLM_DISABLED
                    call = LLMReplied(effect.state, outcome, effect.message)
    return call


async def _scheduling(
    deps: StepDeps,
    effect: effects.ScheduleTask | effects.CancelTask,
    scheduled: set[str],
    log: ContactLog,
) -> None:
    # The scheduler's `StoreUnavailable` (its job file locked or full) passes up: the turn runs
    # again later, with the same keys, as for the state file.
    if isinstance(effect, effects.ScheduleTask):
        with stray_cancellation_as_error("the scheduler's schedule call"):
            if await _schedule(deps, effect, log):
                scheduled.add(one_off_run_id(effect.idempotency_key, effect.run_at))
    elif deps.scheduler is not None:
        with stray_cancellation_as_error("the scheduler's cancel call"):
            await deps.scheduler.cancel(effect.idempotency_key)


async def _schedule(deps: StepDeps, effect: effects.ScheduleTask, log: ContactLog) -> bool:
    """Whether the job was stored."""
    if deps.scheduler is None:
        log.warning("scheduler_disabled", task=effect.task)
        return False
    try:
        await deps.scheduler.schedule(effect)
    except RunAtPassed as exc:  # e.g. a "day before" reminder for tomorrow morning: by design
        # One job per key: the request still replaces the pending one, or a moved appointment
        # whose new reminder time has passed would be reminded at its old time.
        replaced = await deps.scheduler.cancel(effect.idempotency_key)
        log.info(
            "schedule_task_skipped",
            task=effect.task,
            detail=str(exc),
            cancelled_pending=replaced,
        )
    except ValueError as exc:  # a mistake in the flow: the operator should see it
        log.error("schedule_task_rejected", task=effect.task, detail=str(exc))
    else:
        return True
    return False


#: `LLMReplied.outcome` when no LLM fallback answered (the runtime has none, or it is off).
LLM_DISABLED = "disabled"


async def _ask_llm(deps: StepDeps, effect: effects.AskLLM, result: StepResult) -> LLMReply | None:
    if deps.llm is None:
        return LLMReply(effect.fallback_text, LLM_DISABLED) if effect.fallback_text else None
    tenant_language = deps.ctx.tenant.language
    context = LLMContext(
        state=effect.state,
        # All the conversation keeps (`HISTORY_LIMIT` lines): the tenant's `history_turns`
        # (up to 20) picks how many reach the prompt.
        history=tuple((t.role, t.text) for t in result.state.history),
        tenant_name=deps.ctx.tenant.name,
        # The tenant's, not the contact's: the rules it goes into stay one per tenant, so the
        # provider's prompt cache holds (prompt.py); they tell the model to answer in the
        # customer's language anyway.
        language=tenant_language,
        reply_language=effect.language,
        turn_language=result.language,
    )
    # The flow's safe text, else the built-in one of the turn's language (the flow's choice,
    # else the contact's), else the tenant's: the fallback knows only the tenant's (its own
    # `llm.fallback_text` still wins).
    safe = effect.fallback_text or built_in_texts(result.language, tenant_language).llm_fallback
    return await deps.llm.reply(effect.question, context, safe)


async def _call(deps: StepDeps, call: effects.CallConnector, log: ContactLog) -> Event:
    """One connector call as an event. The connector layer logs and times every call."""
    try:
        result = await deps.connectors.call(
            call.connector, call.operation, call.params, idempotency_key=call.idempotency_key
        )
    except ConnectorError as exc:
        redelivery = deps.redelivery
        if redelivery is not None and redelivery.keeps(call.connector, call.operation, exc):
            kept = await redelivery.keep(
                call.connector,
                call.operation,
                call.params,
                key=call.idempotency_key,
                contact_id=log.contact_id,
                exc=exc,
                logger=log,
            )
            if kept is not None:  # made again later: the flow goes on as if it had answered
                return ConnectorReplied(call.request_id, kept)
        status = getattr(exc, "status", None)
        return ConnectorFailed(call.request_id, exc.kind, log.scrub(str(exc)), status)
    except Exception as exc:  # an adapter bug must not end the conversation
        log.failure("connector_crashed", exc, connector=call.connector, operation=call.operation)
        return ConnectorFailed(call.request_id, "error", type(exc).__name__)
    except asyncio.CancelledError as exc:
        if being_cancelled():
            raise  # the turn itself is cancelled (a shutdown): it must end here
        # The connector's own: it awaited something another task cancelled (a future shared
        # with a caller whose timeout expired). The back end gave no answer: the flow's failure
        # path runs, as for an unavailable one, and the message is answered now.
        log.failure("connector_cancelled", exc, connector=call.connector, operation=call.operation)
        return ConnectorFailed(call.request_id, ConnectorUnavailable.kind, "the call was cancelled")
    return ConnectorReplied(call.request_id, result)


def _log_diagnostics(result: StepResult, log: ContactLog) -> None:
    for d in result.diagnostics:
        log.log(d.level, d.event, where=d.where, detail=d.detail)
