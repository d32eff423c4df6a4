"""Conversation state: a frozen value the engine reads and returns a new copy of."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Option

HISTORY_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Turn:
    """One line of the conversation history (kept bounded, used as LLM context)."""

    role: str  # "user" | "bot"
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Resume:
    """Where to continue after a connector call: the program and the next action index.

    A program is a state's `on_enter` (`kind="state"`) or a task's action list (`kind="task"`).
    The engine stops at `invoke_connector`, emits a `CallConnector` effect and stores this; the
    shell feeds the answer back as an event and the engine carries on from `index`.
    """

    kind: str
    name: str
    index: int
    request_id: str
    origin: str
    chain: tuple[str, ...] = ()
    turn_id: str = ""
    overlay: Mapping[str, Any] = field(default_factory=dict)
    #: The message that started the turn: templates after the reply still see `message`.
    message: InboundMessage | None = None
    #: The options `origin` had offered: a failed call that returns there restores them.
    origin_options: tuple[Option, ...] = ()
    #: `origin_options` were the rows of a list (see `ConversationState.last_options_list`).
    origin_options_list: bool = False


@dataclass(frozen=True, slots=True)
class ConversationState:
    tenant_id: str
    contact_id: str
    node: str
    created_at: datetime
    updated_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    history: tuple[Turn, ...] = ()
    version: int = 0
    awaiting: Resume | None = None
    last_options: tuple[Option, ...] = ()
    flow_id: str = ""
    #: `last_options` are the rows of a list, not buttons: a typed "2" or row title must then
    #: arrive as the list reply a press would have sent (`on_type: list` matches it).
    last_options_list: bool = False
    #: When the contact last wrote: `settings.session_timeout` counts from it, not from
    #: `updated_at`, which bot-side steps (a scheduled task, a connector reply) move too.
    #: None in states stored before it was kept; `updated_at` stands in for it then.
    last_inbound_at: datetime | None = None

    @property
    def last_heard(self) -> datetime:
        """When the contact last wrote, as far as this state knows."""
        return self.updated_at if self.last_inbound_at is None else self.last_inbound_at

    def with_data(self, **changes: Any) -> ConversationState:
        return replace(self, data={**self.data, **changes})

    def remember(self, *turns: Turn) -> ConversationState:
        return replace(self, history=(*self.history, *turns)[-HISTORY_LIMIT:])


def new_state(
    tenant_id: str, contact_id: str, initial_state: str, now: datetime, flow_id: str = ""
) -> ConversationState:
    """A brand-new contact: placed in the initial state without running its `on_enter`."""
    return ConversationState(
        tenant_id=tenant_id,
        contact_id=contact_id,
        node=initial_state,
        created_at=now,
        updated_at=now,
        flow_id=flow_id,
    )
