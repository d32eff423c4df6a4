"""A step's new state carries every field of the old one it does not change.

`TurnBuilder.result` builds the new `ConversationState` field by field (cheaper than
`dataclasses.replace`), so a field added to the state must be added there too: this test fails
until it is.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import Option
from botfleet.flows.engine import StepContext, step
from botfleet.flows.events import MessageReceived
from botfleet.flows.state import ConversationState, Turn
from botfleet.testing.engine import flow_from_yaml

FLOW = flow_from_yaml(
    """
    id: carry
    initial_state: A
    states:
      A:
        on_enter:
          - {action: send_text, text: "in A"}
        transitions:
          - {on_type: text, target: A}
    """
)
CREATED = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2024, 1, 8, 10, 0, tzinfo=UTC)


def test_every_field_of_the_state_is_known_to_the_turn_builder() -> None:
    assert [f.name for f in fields(ConversationState)] == [
        "tenant_id",
        "contact_id",
        "node",
        "created_at",
        "updated_at",
        "data",
        "history",
        "version",
        "awaiting",
        "last_options",
        "flow_id",
        "last_options_list",
        "last_inbound_at",
    ], "a new ConversationState field: copy it in TurnBuilder.result, then update this list"


def test_a_step_keeps_identity_creation_time_version_and_history() -> None:
    old = ConversationState(
        tenant_id="t9",
        contact_id="c9",
        node="A",
        created_at=CREATED,
        updated_at=CREATED,
        data={"k": "v"},
        history=(Turn("user", "earlier", CREATED),),
        version=7,
        last_options=(Option("x", "X"),),
        flow_id="older_flow",
        last_options_list=True,
    )
    message = InboundMessage("m1", "c9", MessageType.TEXT, NOW, text="hi")
    new = step(FLOW, old, MessageReceived(message), NOW, StepContext()).state
    assert (new.tenant_id, new.contact_id, new.created_at, new.version) == ("t9", "c9", CREATED, 7)
    assert (new.node, new.updated_at, new.flow_id, new.awaiting) == ("A", NOW, "carry", None)
    assert new.data == {"k": "v", "today": "2024-01-08"}
    assert new.history[0] == Turn("user", "earlier", CREATED)
    assert [t.text for t in new.history[1:]] == ["hi", "in A"]
    assert new.last_options == (Option("x", "X"),)  # same state, no new options shown
    assert new.last_options_list is True
    assert new.last_inbound_at == NOW
