"""The conversation runtime: journal -> per-contact order -> step loop -> persist -> send."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from botfleet.adapters.channels.degrade import degrade
from botfleet.data_plane.runtime.flow_holder import LiveConfig
from botfleet.data_plane.runtime.metrics import RuntimeMetrics
from botfleet.data_plane.runtime.sequencer import ContactSequencer
from botfleet.domain.errors import ConnectorError
from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Output, Text, output_from_dict, output_to_dict
from botfleet.flows import effects
from botfleet.flows.engine import StepContext, StepResult, start_state, step
from botfleet.flows.events import (
    ConnectorFailed,
    ConnectorReplied,
    Event,
    MessageReceived,
    TaskFired,
)
from botfleet.flows.state import ConversationState
from botfleet.ports.channels import OutboundSender, TurnResult
from botfleet.ports.clock import Clock
from botfleet.ports.connectors import ConnectorCaller, LLMContext, LLMFallback
from botfleet.ports.scheduling import TaskScheduler
from botfleet.ports.stores import MessageJournal, OutboxStore, StateStore

log = structlog.get_logger("botfleet.runtime")

#: Connector calls one turn may make before the runtime stops it (a hostile flow's loop guard).
MAX_CALLS_PER_TURN = 25


def hash_contact(tenant_id: str, contact_id: str) -> str:
    """Contact ids are phone numbers: logs carry a short salted hash instead."""
    return hashlib.sha256(f"{tenant_id}:{contact_id}".encode()).hexdigest()[:12]


@dataclass
class ConversationRuntime:
    """Implements `InboundHandler` for every channel of one tenant."""

    live: LiveConfig
    ctx: StepContext
    states: StateStore
    journal: MessageJournal
    outbox: OutboxStore
    sender: OutboundSender
    connectors: ConnectorCaller
    clock: Clock
    llm: LLMFallback | None = None
    scheduler: TaskScheduler | None = None
    metrics: RuntimeMetrics = field(default_factory=RuntimeMetrics)
    sequencer: ContactSequencer = field(default_factory=ContactSequencer)

    # ---------------------------------------------------------------- InboundHandler

    async def handle(self, message: InboundMessage) -> TurnResult:
        if not await self._record(message):
            return await self._duplicate(message)
        outputs = await self.sequencer.submit(message.contact_id, lambda: self._turn(message))
        return TurnResult(message.message_id, tuple(outputs))

    async def accept(self, message: InboundMessage) -> bool:
        if not await self._record(message):
            return False
        self.sequencer.submit(message.contact_id, lambda: self._turn(message))
        return True

    async def run_task(
        self, contact_id: str | None, task: str, data: dict[str, Any], job_id: str
    ) -> None:
        """A due scheduled task, run in the contact's order (never inside one of its turns)."""
        if contact_id is None:
            log.warning("task_without_contact", task=task, job_id=job_id)
            return
        await self.sequencer.submit(contact_id, lambda: self._task(contact_id, task, data, job_id))

    async def recover(self) -> int:
        """Process messages acknowledged before a crash but never processed. Returns how many."""
        pending = await self.journal.pending()
        for entry in pending:
            msg = entry.message
            self.sequencer.submit(msg.contact_id, lambda m=msg: self._turn(m))  # type: ignore[misc]
        if pending:
            log.info("recovering_messages", count=len(pending))
        return len(pending)

    # ---------------------------------------------------------------- internals

    async def _record(self, message: InboundMessage) -> bool:
        self.metrics.messages_in.inc()
        is_new = await self.journal.record(message, self.clock.now())
        if not is_new:
            self.metrics.duplicates.inc()
        return is_new

    async def _duplicate(self, message: InboundMessage) -> TurnResult:
        entry = await self.journal.get(message.message_id)
        replies = entry.replies if entry else ()
        return TurnResult(message.message_id, _outputs_from_dicts(replies), duplicate=True)

    async def _turn(self, message: InboundMessage) -> list[Output]:
        started = self.clock.now()
        try:
            outputs = await self._run(message.contact_id, MessageReceived(message), message)
        except Exception:
            log.exception(
                "turn_failed",
                tenant=self.ctx.tenant.id,
                contact=hash_contact(self.ctx.tenant.id, message.contact_id),
            )
            await self.journal.complete(message.message_id, [], status="failed")
            self.metrics.turn_errors.inc()
            raise
        await self.journal.complete(message.message_id, [output_to_dict(o) for o in outputs])
        self.metrics.turn_seconds.observe((self.clock.now() - started).total_seconds())
        return outputs

    async def _task(
        self, contact_id: str, task: str, data: dict[str, Any], job_id: str
    ) -> list[Output]:
        try:
            return await self._run(contact_id, TaskFired(task, data, job_id), None)
        except Exception:
            log.exception("task_failed", task=task, job_id=job_id)
            return []

    async def _run(
        self, contact_id: str, event: Event, message: InboundMessage | None
    ) -> list[Output]:
        flow = self.live.flow
        loaded = await self.states.load(contact_id)
        state = loaded or start_state(flow, self.ctx.tenant.id, contact_id, self.clock.now())
        result = step(flow, state, event, self.clock.now(), self.ctx)
        outputs: list[Output] = []
        for _ in range(MAX_CALLS_PER_TURN):
            self._log_diagnostics(result, contact_id)
            outputs.extend(result.outputs)
            call = await self._apply_effects(result, contact_id, outputs)
            if call is None or result.state.awaiting is None:
                break
            reply = await self._call(call)
            result = step(flow, result.state, reply, self.clock.now(), self.ctx)
        else:
            log.error("turn_call_limit", limit=MAX_CALLS_PER_TURN)
            outputs.append(Text(flow.settings.error_text or "Sorry, something went wrong."))
        new_state = result.state
        if new_state.awaiting is not None:  # stopped by the guard: never leave a dangling call
            new_state = _without_awaiting(new_state)
        await self.states.save(new_state, expected_version=state.version)
        return await self._deliver(contact_id, outputs)

    async def _apply_effects(
        self, result: StepResult, contact_id: str, outputs: list[Output]
    ) -> effects.CallConnector | None:
        call: effects.CallConnector | None = None
        for effect in result.effects:
            match effect:
                case effects.CallConnector():
                    call = effect
                case effects.ScheduleTask():
                    await self._schedule(effect)
                case effects.CancelTask():
                    if self.scheduler is not None:
                        await self.scheduler.cancel(effect.idempotency_key)
                case effects.AskLLM():
                    text = await self._ask_llm(effect, result.state)
                    if text:
                        outputs.append(Text(text))
        return call

    async def _schedule(self, effect: effects.ScheduleTask) -> None:
        if self.scheduler is None:
            log.warning("scheduler_disabled", task=effect.task)
            return
        try:
            await self.scheduler.schedule(effect)
        except ValueError as exc:
            log.error("schedule_task_rejected", task=effect.task, error=str(exc))

    async def _ask_llm(self, effect: effects.AskLLM, state: ConversationState) -> str | None:
        if self.llm is None:
            return effect.fallback_text or None
        context = LLMContext(
            state=effect.state,
            history=tuple((t.role, t.text) for t in state.history[-8:]),
            tenant_name=self.ctx.tenant.name,
            language=self.ctx.tenant.language,
        )
        return await self.llm.reply(effect.question, context, effect.fallback_text)

    async def _call(self, call: effects.CallConnector) -> Event:
        started = self.clock.now()
        outcome = "ok"
        try:
            result = await self.connectors.call(
                call.connector, call.operation, call.params, idempotency_key=call.idempotency_key
            )
            return ConnectorReplied(call.request_id, result)
        except ConnectorError as exc:
            outcome = exc.kind
            return ConnectorFailed(call.request_id, exc.kind, str(exc))
        except Exception as exc:  # an adapter bug must not end the conversation
            outcome = "crash"
            log.exception("connector_crashed", connector=call.connector, operation=call.operation)
            return ConnectorFailed(call.request_id, "error", type(exc).__name__)
        finally:
            elapsed = (self.clock.now() - started).total_seconds()
            log.info(
                "connector_call",
                connector=call.connector,
                operation=call.operation,
                outcome=outcome,
                seconds=round(elapsed, 4),
            )

    async def _deliver(self, contact_id: str, outputs: Sequence[Output]) -> list[Output]:
        fitted = list(degrade(outputs, self.sender.capabilities))
        now = self.clock.now()
        for output in fitted:
            await self.outbox.append(contact_id, output_to_dict(output), now)
        if fitted:
            await self.sender.send(contact_id, fitted)
            self.metrics.messages_out.inc(len(fitted))
        return fitted

    def _log_diagnostics(self, result: StepResult, contact_id: str) -> None:
        for d in result.diagnostics:
            log.log(
                _LEVELS.get(d.level, 30),
                d.event,
                where=d.where,
                detail=d.detail,
                tenant=self.ctx.tenant.id,
                contact=hash_contact(self.ctx.tenant.id, contact_id),
            )


_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


def _without_awaiting(state: ConversationState) -> ConversationState:
    return replace(state, awaiting=None)


def _outputs_from_dicts(replies: Sequence[dict[str, Any]]) -> tuple[Output, ...]:
    return tuple(output_from_dict(r) for r in replies)
