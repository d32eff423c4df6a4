"""Builders for driving the pure flow engine: flows from YAML, messages, and a `Conversation`.

Shared by the engine's tests, other suites and the CLI simulator, so nobody re-invents them:

    flow = flow_from_yaml(FLOW_TEXT)
    chat = Conversation(flow, answer=answer_with({"get_available_days": [...]}))
    assert chat.send("hola").texts == ["Hi! What would you like?"]
    assert chat.press("menu_book").state.node == "BOOK"

Everything here is synchronous; `connector_answer` runs an async connector on its own loop.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from textwrap import dedent
from typing import Any

from botfleet.domain.errors import ConnectorError
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import Buttons, ListMenu, Output, TemplateMessage, Text, options_of
from botfleet.domain.yaml_text import safe_load
from botfleet.flows.effects import CallConnector, Diagnostic, Effect
from botfleet.flows.engine import (
    SchedulerInfo,
    StepContext,
    StepResult,
    TenantInfo,
    start_state,
    step,
)
from botfleet.flows.events import (
    ConnectorFailed,
    ConnectorReplied,
    Event,
    MessageReceived,
    TaskFired,
)
from botfleet.flows.load import load_flow, load_flow_text
from botfleet.flows.schema import FlowSpec
from botfleet.flows.state import ConversationState
from botfleet.ports.connectors import Connector
from botfleet.testing.clock import DEFAULT_START, FrozenClock

__all__ = [
    "CONTACT",
    "T0",
    "TEST_TENANT",
    "Answer",
    "Conversation",
    "Exchange",
    "answer_with",
    "button",
    "connector_answer",
    "flow_from_file",
    "flow_from_yaml",
    "list_reply",
    "message",
    "output_texts",
    "text",
]

T0 = DEFAULT_START
CONTACT = "contact-1"
TEST_TENANT = TenantInfo(id="tenant-1", name="Test Salon", timezone="Europe/Madrid")
#: Connector calls one `Conversation.send` answers before giving up (a flow calling forever).
MAX_CALLS = 50

#: Turns a connector call into the event that answers it (ConnectorReplied / ConnectorFailed).
Answer = Callable[[CallConnector], Event]

_ids = itertools.count(1)


# ---------------------------------------------------------------- flows


def flow_from_yaml(text: str, *, source: str = "<test flow>", validate: bool = True) -> FlowSpec:
    """A flow from YAML text (dedented). `validate=False` skips the static checks (schema only),
    for flows the validator rightly rejects but the engine must still survive."""
    body = dedent(text)
    if validate:
        return load_flow_text(body, source).spec
    return FlowSpec.model_validate(safe_load(body))


def flow_from_file(path: str | Path) -> FlowSpec:
    return load_flow(path).spec


# ---------------------------------------------------------------- messages


def message(
    type: MessageType | str,
    *,
    text: str = "",
    payload: str = "",
    contact_id: str = CONTACT,
    at: datetime = T0,
    message_id: str | None = None,
    contact_name: str = "",
    language: str = "",
    extra: Mapping[str, Any] | None = None,
) -> InboundMessage:
    """Any inbound message; `type` accepts the DSL's names and aliases (`button`, `list`)."""
    kind = type if isinstance(type, MessageType) else MessageType.parse(type)
    return InboundMessage(
        message_id=message_id or f"m{next(_ids)}",
        contact_id=contact_id,
        type=kind,
        timestamp=at,
        text=text,
        payload=payload,
        contact_name=contact_name,
        language=language,
        extra=dict(extra or {}),
    )


def text(body: str, **fields: Any) -> InboundMessage:
    """A text message saying `body`."""
    return message(MessageType.TEXT, text=body, **fields)


def button(payload: str, **fields: Any) -> InboundMessage:
    """A button press carrying `payload`."""
    return message(MessageType.BUTTON_REPLY, payload=payload, **fields)


def list_reply(payload: str, **fields: Any) -> InboundMessage:
    """A list row chosen, carrying `payload`."""
    return message(MessageType.LIST_REPLY, payload=payload, **fields)


def output_texts(outputs: tuple[Output, ...] | list[Output]) -> list[str]:
    """What the user reads of each output: a text, or the body of a menu or template."""
    texts: list[str] = []
    for out in outputs:
        if isinstance(out, Text):
            texts.append(out.text)
        elif isinstance(out, Buttons | ListMenu):
            texts.append(out.body)
        elif isinstance(out, TemplateMessage):
            texts.append(out.fallback_text or out.name)
    return texts


# ---------------------------------------------------------------- connector answers


def answer_with(replies: Mapping[str, Any] | Callable[[CallConnector], Any]) -> Answer:
    """Answer calls from a table (operation -> result) or a function of the call.

    A `ConnectorError` instance as the result (or raised by the function) becomes
    `ConnectorFailed`; an operation missing from the table fails as `unknown_operation`.
    """

    def answer(call: CallConnector) -> Event:
        try:
            if callable(replies):
                result = replies(call)
            elif call.operation in replies:
                result = replies[call.operation]
            else:
                return ConnectorFailed(call.request_id, "unknown_operation", call.operation)
        except ConnectorError as exc:
            return _failed(call, exc)
        if isinstance(result, ConnectorError):
            return _failed(call, result)
        return ConnectorReplied(call.request_id, result)

    return answer


def connector_answer(connectors: Mapping[str, Connector]) -> Answer:
    """Answer calls with real connectors by category (e.g. the in-memory calendar).

    Each call runs on a fresh event loop, so use it from synchronous code only.
    """

    def answer(call: CallConnector) -> Event:
        connector = connectors.get(call.connector)
        if connector is None:
            return ConnectorFailed(call.request_id, "unavailable", f"no {call.connector!r}")
        try:
            result = asyncio.run(
                connector.call(call.operation, call.params, idempotency_key=call.idempotency_key)
            )
        except ConnectorError as exc:
            return _failed(call, exc)
        return ConnectorReplied(call.request_id, result)

    return answer


def _failed(call: CallConnector, error: ConnectorError) -> ConnectorFailed:
    """A failure as the data plane's step loop makes it (a refusal keeps its HTTP status)."""
    return ConnectorFailed(call.request_id, error.kind, str(error), getattr(error, "status", None))


# ---------------------------------------------------------------- a conversation


@dataclass(frozen=True, slots=True)
class Exchange:
    """Everything one event produced, connector round trips included (`steps`, in order)."""

    steps: tuple[StepResult, ...]

    @property
    def state(self) -> ConversationState:
        return self.steps[-1].state

    @property
    def outputs(self) -> tuple[Output, ...]:
        return tuple(o for s in self.steps for o in s.outputs)

    @property
    def effects(self) -> tuple[Effect, ...]:
        return tuple(e for s in self.steps for e in s.effects)

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return tuple(d for s in self.steps for d in s.diagnostics)

    @property
    def fired(self) -> tuple[str, ...]:
        return tuple(f for s in self.steps for f in s.fired)

    @property
    def entered(self) -> tuple[str, ...]:
        return tuple(e for s in self.steps for e in s.entered)

    @property
    def calls(self) -> tuple[CallConnector, ...]:
        return tuple(e for e in self.effects if isinstance(e, CallConnector))

    @property
    def texts(self) -> list[str]:
        return output_texts(self.outputs)

    @property
    def option_ids(self) -> list[str]:
        """Ids of the options in the last menu shown, if any."""
        menus = [o for o in self.outputs if options_of(o)]
        return [o.id for o in options_of(menus[-1])] if menus else []

    def diagnostic_events(self) -> list[str]:
        return [d.event for d in self.diagnostics]


class Conversation:
    """One contact talking to a flow through `step`, with a frozen clock.

    Connector calls are answered by `answer` and fed back at once, as the runtime does;
    without `answer` the exchange stops with `state.awaiting` set (use `resume`).
    """

    def __init__(
        self,
        flow: FlowSpec,
        *,
        contact_id: str = CONTACT,
        tenant: TenantInfo = TEST_TENANT,
        clock: FrozenClock | None = None,
        llm_available: bool = False,
        strict: bool = False,
        answer: Answer | None = None,
        state: ConversationState | None = None,
        scheduling: SchedulerInfo | None = None,
    ) -> None:
        self.flow = flow
        self.contact_id = contact_id
        self.clock = clock or FrozenClock()
        self.ctx = StepContext(
            tenant=tenant,
            llm_available=llm_available,
            strict=strict,
            scheduling=scheduling or SchedulerInfo(),
        )
        self.answer = answer
        self.state = state or start_state(flow, tenant.id, contact_id, self.clock.now())

    def with_data(self, **values: Any) -> Conversation:
        """Put values into the conversation's data (setting up a scenario); returns self."""
        self.state = self.state.with_data(**values)
        return self

    def at(self, node: str) -> Conversation:
        """Place the contact in `node` without running anything; returns self."""
        self.state = replace(self.state, node=node)
        return self

    def send(self, msg: InboundMessage | str) -> Exchange:
        """The contact sends `msg` (a string is a text message)."""
        if isinstance(msg, str):
            msg = text(msg, contact_id=self.contact_id, at=self.clock.now())
        return self.dispatch(MessageReceived(msg))

    def press(self, payload: str) -> Exchange:
        return self.send(button(payload, contact_id=self.contact_id, at=self.clock.now()))

    def choose(self, payload: str) -> Exchange:
        return self.send(list_reply(payload, contact_id=self.contact_id, at=self.clock.now()))

    def fire_task(self, task: str, data: Mapping[str, Any] | None = None) -> Exchange:
        return self.dispatch(TaskFired(task, dict(data or {}), job_id=f"job-{next(_ids)}"))

    def resume(self, event: Event) -> Exchange:
        """Feed a connector's answer by hand (when the conversation has no `answer`)."""
        return self.dispatch(event)

    def dispatch(self, event: Event) -> Exchange:
        result = step(self.flow, self.state, event, self.clock.now(), self.ctx)
        steps = [result]
        while self.answer is not None and result.state.awaiting is not None:
            calls = [e for e in result.effects if isinstance(e, CallConnector)]
            if not calls or len(steps) > MAX_CALLS:
                break
            reply = self.answer(calls[-1])
            result = step(self.flow, result.state, reply, self.clock.now(), self.ctx)
            steps.append(result)
        self.state = result.state
        return Exchange(tuple(steps))
