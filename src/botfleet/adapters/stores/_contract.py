"""Behaviour every store adapter shares: version rule, statuses, limits, record shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botfleet.adapters.stores import codec
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.flows.state import HISTORY_LIMIT, ConversationState

#: Statuses `complete()` accepts; "pending" is the status `record()` gives.
FINAL_STATUSES = frozenset({"done", "failed"})

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_micros(value: datetime, where: str) -> int:
    """Microseconds since the Unix epoch: an exact, offset-independent sort key."""
    codec.datetime_to_json(value, where)  # refuses naive datetimes with a clear message
    return (value - _EPOCH) // _MICROSECOND


def from_epoch_micros(micros: int) -> datetime:
    """The UTC moment `epoch_micros` gave `micros` for."""
    return _EPOCH + timedelta(microseconds=micros)


def check_final_status(status: str, message_id: str) -> None:
    if status not in FINAL_STATUSES:
        raise ValueError(
            f"journal message {message_id!r}: status must be one of "
            f"{sorted(FINAL_STATUSES)}, got {status!r}"
        )


def check_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError(f"outbox limit must be >= 0, got {limit}")


def stored_state(state: ConversationState, expected_version: int) -> ConversationState:
    """What `save()` stores and returns: the next version, history bounded.

    The version carried by `state` itself is ignored: `expected_version` is what counts.
    """
    if expected_version < 0:
        raise ValueError(
            f"conversation {state.contact_id!r}: expected_version must be >= 0 "
            f"(0 for a new conversation), got {expected_version}"
        )
    # Built field by field: `dataclasses.replace` costs ~3 us more per commit. Every field
    # is named (tests/integration/adapters/stores/test_store_commit_prep.py pins the list).
    return ConversationState(
        tenant_id=state.tenant_id,
        contact_id=state.contact_id,
        node=state.node,
        created_at=state.created_at,
        updated_at=state.updated_at,
        data=state.data,
        history=state.history[-HISTORY_LIMIT:],
        version=expected_version + 1,
        awaiting=state.awaiting,
        last_options=state.last_options,
        flow_id=state.flow_id,
        last_options_list=state.last_options_list,
        last_inbound_at=state.last_inbound_at,
    )


def check_move(old_contact_id: str, new_contact_id: str) -> None:
    """A conversation moves to another contact id, never onto its own."""
    if old_contact_id == new_contact_id:
        raise ValueError(f"conversation {old_contact_id!r} cannot be moved onto itself")


def outbox_record(seq: int, contact_id: str, at: str, output: str) -> dict[str, Any]:
    """The shape `since()` returns: JSON-ready, `output` as it was appended."""
    return {"seq": seq, "contact_id": contact_id, "at": at, "output": codec.loads(output)}


def emptied_message(message_id: str, received: datetime) -> str:
    """The journal's `message` of an erased entry: its id and nothing of the contact's (the
    message's own time becomes the time it was received)."""
    empty = InboundMessage(message_id, "", MessageType.TEXT, received)
    return codec.dumps(codec.message_to_json(empty))
