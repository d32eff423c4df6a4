"""JSON codec for stored values: ConversationState and InboundMessage, with exact round trips.

Every store adapter goes through this module, so what one adapter accepts the others accept too.
Datetimes are written as ISO 8601 with their UTC offset and must be timezone-aware. The zone
*name* of a `ZoneInfo` is not kept, only its offset at that instant, so the value read back is
the same instant (and compares equal, except for a wall time repeated by a DST change: Python
never finds those equal across zones; the platform's clock gives UTC anyway).
Values in `data`, `extra`, replies and outputs must be JSON: str, int, float (finite), bool,
None, lists and dicts with str keys. Tuples are accepted and come back as lists, the only
lossy conversion; anything else is refused with a `StoreError` naming the offending field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from botfleet.domain.errors import StoreError
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import Option
from botfleet.flows.state import ConversationState, Resume, Turn
from botfleet.json_text import json_text, orjson_text

__all__ = [
    "check_json",
    "checked_dumps",
    "checked_dumps_each",
    "datetime_from_json",
    "datetime_to_json",
    "dumps",
    "history_to_json_text",
    "loads",
    "message_from_json",
    "message_to_json",
    "state_from_json",
    "state_from_row",
    "state_reloaded",
    "state_to_json",
    "state_to_row",
]

_SCALARS = (str, int, bool, type(None))
#: The columns of `state_to_row` that hold JSON text (`awaiting` may be None).
ROW_JSON_COLUMNS = ("data", "history", "awaiting", "last_options")
#: Key of `state_to_row`'s answer (not a column): every history turn reads back unchanged.
HISTORY_IS_PLAIN = "history_is_plain"
#: Key of `state_to_row`'s answer (not a column): orjson wrote `data` (so orjson may read it).
DATA_BY_ORJSON = "data_by_orjson"


def dumps(value: Any) -> str:
    """Compact JSON text of a value already known to be JSON (see `checked_dumps`).

    A lone surrogate (broken UTF-16 from a channel) is written as a ``\\u`` escape, so the text
    can still be encoded as UTF-8 and such a message can still be journaled (`json_text`).
    """
    return json_text(value)


def checked_dumps(value: Any, where: str) -> str:
    """`dumps` after `check_json`, so a bad value is reported by its path, not by `json`."""
    check_json(value, where)
    return dumps(value)


def checked_dumps_each(values: Iterable[Any], where: str) -> list[str]:
    """`checked_dumps(value, f"{where}[{i}]")` of each value, the path built only for a bad one."""
    return [
        dumps(value) if _plain(value) else checked_dumps(value, f"{where}[{index}]")
        for index, value in enumerate(values)
    ]


def loads(text: str) -> Any:
    """Parse JSON text written by `dumps`."""
    return json.loads(text)


def check_json(value: Any, where: str) -> None:
    """Raise `StoreError` naming the path (e.g. `data.slot[2]`) of the first non-JSON value."""
    # Every turn checks its whole state: a walk without paths first (no string per element);
    # only a value it does not vouch for is walked again, naming paths, to find the culprit.
    if not _plain(value):
        _check_at(value, where)


def _plain(value: Any) -> bool:
    """True for values of the exact JSON types (subclasses and Mappings get the full check)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return bool(value - value == 0.0)  # False for nan and the infinities
    # Loops, not all(...): a generator per container cost a third of the walk. Strings, ints,
    # bools and None are vouched for in the loop: a call per leaf cost about half of it.
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            if not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            if not _plain(item):
                return False
        return True
    return False


def _check_at(value: Any, where: str) -> None:
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise StoreError(f"{where}: {value!r} is not valid JSON (finite numbers only)")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_at(item, f"{where}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise StoreError(f"{where}: key {key!r} is not a string; JSON keys must be")
            _check_at(item, f"{where}.{key}")
        return
    raise StoreError(f"{where}: a {type(value).__name__} is not JSON-able ({value!r:.80})")


def datetime_to_json(value: datetime, where: str) -> str:
    """ISO 8601 text with offset; naive datetimes are refused (they would be ambiguous)."""
    text = _utc_text(value)
    if text is not None:
        return text
    if not isinstance(value, datetime):
        raise StoreError(f"{where}: expected a datetime, got {type(value).__name__}")
    if value.utcoffset() is None:
        raise StoreError(f"{where}: datetime must be timezone-aware, got {value.isoformat()}")
    return value.isoformat()


#: `isoformat()` of recent exact datetimes in `UTC`, by value: a commit writes the same few
#: times several times over (the turn's moment as `updated_at`, the turns' `at`, the outbox's
#: `at`; `created_at` every turn), and `isoformat()` costs ~1.4 us. Two such datetimes that are
#: equal have the same fields (only `fold` may differ, which `isoformat()` does not write), so
#: their texts are the same. Emptied when full.
_UTC_TEXTS: dict[datetime, str] = {}
_UTC_TEXTS_SIZE = 4096


def _utc_text(value: Any) -> str | None:
    """`value.isoformat()` if `value` is an exact `datetime` in `UTC`, else None."""
    if type(value) is not datetime or value.tzinfo is not UTC:
        return None
    text = _UTC_TEXTS.get(value)
    if text is None:
        text = value.isoformat()
        if len(_UTC_TEXTS) >= _UTC_TEXTS_SIZE:
            _UTC_TEXTS.clear()
        _UTC_TEXTS[value] = text
    return text


def datetime_from_json(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"stored datetime {text!r} has no UTC offset")
    return value


# ------------------------------------------------------------------ conversation state


def state_to_json(state: ConversationState) -> dict[str, Any]:
    """A JSON-ready dict holding every field of `state`."""
    where = f"conversation {state.contact_id!r}"
    data = dict(state.data)
    check_json(data, f"{where}: data")
    return {
        **_scalar_fields(state, where),
        "data": data,
        "history": [
            {
                "role": t.role,
                "text": t.text,
                "at": datetime_to_json(t.at, f"{where}: history[{i}].at"),
            }
            for i, t in enumerate(state.history)
        ],
        "awaiting": _resume_to_json(state.awaiting),
        "last_options": [_option_to_json(o) for o in state.last_options],
    }


def state_to_row(state: ConversationState) -> dict[str, Any]:
    """`state_to_json` with `data`, `history`, `awaiting` and `last_options` as JSON text
    (`awaiting` may be None): the columns a store writes, encoded the cheapest way. Plus
    `HISTORY_IS_PLAIN` and `DATA_BY_ORJSON` (not columns), which `state_reloaded` reads."""
    where = f"conversation {state.contact_id!r}"
    data = state.data if type(state.data) is dict else dict(state.data)
    check_json(data, f"{where}: data")
    awaiting = _resume_to_json(state.awaiting)
    history, history_is_plain = _encode_history(state.history, where)
    data_text = orjson_text(data)
    return {
        **_scalar_fields(state, where),
        "data": dumps(data) if data_text is None else data_text,
        "history": history,
        "awaiting": None if awaiting is None else dumps(awaiting),
        "last_options": dumps([_option_to_json(o) for o in state.last_options]),
        HISTORY_IS_PLAIN: history_is_plain,
        DATA_BY_ORJSON: data_text is not None,
    }


def state_from_row(row: Mapping[str, Any]) -> ConversationState:
    """The state a `state_to_row` row holds. Raises ValueError for a JSON column that does not
    parse, `StoreError` for a document that is not a state."""
    doc = dict(row)
    for column in ROW_JSON_COLUMNS:
        doc[column] = None if doc[column] is None else loads(doc[column])
    return state_from_json(doc)


def _scalar_fields(state: ConversationState, where: str) -> dict[str, Any]:
    """The fields stored as they are (times as ISO 8601 text), shared by document and row."""
    return {
        "tenant_id": state.tenant_id,
        "contact_id": state.contact_id,
        "flow_id": state.flow_id,
        "node": state.node,
        "version": state.version,
        # `_utc_text` first: the usual case, without building the field's name
        "created_at": _utc_text(state.created_at)
        or datetime_to_json(state.created_at, f"{where}: created_at"),
        "updated_at": _utc_text(state.updated_at)
        or datetime_to_json(state.updated_at, f"{where}: updated_at"),
        "last_options_list": bool(state.last_options_list),
        "last_inbound_at": (
            None
            if state.last_inbound_at is None
            else _utc_text(state.last_inbound_at)
            or datetime_to_json(state.last_inbound_at, f"{where}: last_inbound_at")
        ),
    }


def state_from_json(doc: Mapping[str, Any]) -> ConversationState:
    """The state `state_to_json` wrote. Raises `StoreError` if the document is malformed."""
    try:
        return ConversationState(
            tenant_id=doc["tenant_id"],
            contact_id=doc["contact_id"],
            flow_id=doc["flow_id"],
            node=doc["node"],
            version=int(doc["version"]),
            created_at=datetime_from_json(doc["created_at"]),
            updated_at=datetime_from_json(doc["updated_at"]),
            data=dict(doc["data"]),
            history=tuple(
                Turn(role=t["role"], text=t["text"], at=datetime_from_json(t["at"]))
                for t in doc["history"]
            ),
            awaiting=_resume_from_json(doc["awaiting"]),
            last_options=tuple(_option_from_json(o) for o in doc["last_options"]),
            # Absent from states stored before lists were told apart from buttons.
            last_options_list=bool(doc.get("last_options_list", False)),
            # Absent (or NULL) in states stored before it was kept: see `last_heard`.
            last_inbound_at=(
                None
                if doc.get("last_inbound_at") is None
                else datetime_from_json(doc["last_inbound_at"])
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        contact = doc.get("contact_id", "?") if isinstance(doc, Mapping) else "?"
        raise StoreError(
            f"stored conversation {contact!r} is unreadable: {type(exc).__name__}: {exc}"
        ) from exc


def history_to_json_text(history: tuple[Turn, ...], where: str) -> str:
    """`dumps` of `state_to_json(...)["history"]`, reusing each turn's text from earlier commits."""
    return _encode_history(history, where)[0]


def _encode_history(history: tuple[Turn, ...], where: str) -> tuple[str, bool]:
    """The history's JSON text, and whether every turn reads back as the same object would
    (UTC time, plain strings).

    A contact's history is its last 20 turns and each commit adds one or two, so encoding the
    whole list again on every commit redid the same work ~10 times per turn (a tenth of a
    commit's CPU). Turns are immutable, so a turn's text never changes.
    """
    parts = []
    plain = True
    texts = _TURN_TEXTS
    for index, turn in enumerate(history):
        # The young generation inline (most turns are there), `get` for the rest.
        entry = texts.young.get(id(turn))
        if entry is None or entry[0] is not turn:
            entry = texts.get(turn)
            if entry is None:
                text = dumps(
                    {
                        "role": turn.role,
                        "text": turn.text,
                        "at": datetime_to_json(turn.at, f"{where}: history[{index}].at"),
                    }
                )
                same = turn.at.tzinfo is UTC and type(turn.text) is str and type(turn.role) is str
                entry = (turn, text, same)
                texts.put(entry)
        parts.append(entry[1])
        if not entry[2]:
            plain = False
    return "[" + ",".join(parts) + "]", plain


#: A turn, its JSON text, and whether it reads back unchanged.
_TurnEntry = tuple[Turn, str, bool]


class _TurnTexts:
    """Encoded turns by object identity, about the last `size` to `2 * size` used.

    Two generations instead of an LRU: a hit in the old one moves the entry to the young
    one, and a full young generation becomes the old one (O(1) each; evicting the oldest
    key of one big dict is not O(1) in CPython). Keyed by `id(turn)` with the turn kept
    alongside, so an id is never reused while cached: hashing a Turn would hash its text.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.young: dict[int, _TurnEntry] = {}
        self._old: dict[int, _TurnEntry] = {}

    def get(self, turn: Turn) -> _TurnEntry | None:
        key = id(turn)
        entry = self.young.get(key)
        if entry is None:
            entry = self._old.pop(key, None)
            if entry is None:
                return None
            self._add(key, entry)
        return entry if entry[0] is turn else None  # another turn that had the same id

    def put(self, entry: _TurnEntry) -> None:
        self._add(id(entry[0]), entry)

    def __len__(self) -> int:
        return len(self.young) + len(self._old)

    def _add(self, key: int, entry: _TurnEntry) -> None:
        if len(self.young) >= self.size:
            self._old, self.young = self.young, {}
        self.young[key] = entry


#: About 20 turns per cached conversation state (512 states by default), twice over.
_TURN_TEXTS = _TurnTexts(16_384)


def state_reloaded(state: ConversationState, row: Mapping[str, Any]) -> ConversationState:
    """What `state_from_json` gives back for `state` stored as `row` (from `state_to_row`).

    Built from `state`'s own immutable parts where the round trip would change nothing (UTC
    times, no pending connector call), so a commit need not parse back what it just wrote;
    `data` is parsed from its text (tuples become lists, containers are the store's own), by
    orjson when orjson wrote it: ~4 us instead of ~10 for the demo's 2.4 KB.
    """
    plain = (
        row[HISTORY_IS_PLAIN]
        and state.awaiting is None
        and state.created_at.tzinfo is UTC
        and state.updated_at.tzinfo is UTC
        and (state.last_inbound_at is None or state.last_inbound_at.tzinfo is UTC)
    )
    if not plain:
        return state_from_row(row)
    return ConversationState(
        tenant_id=state.tenant_id,
        contact_id=state.contact_id,
        flow_id=state.flow_id,
        node=state.node,
        version=int(state.version),
        created_at=state.created_at,
        updated_at=state.updated_at,
        data=orjson.loads(row["data"]) if row[DATA_BY_ORJSON] else loads(row["data"]),
        history=state.history,
        awaiting=None,
        last_options=state.last_options,
        last_options_list=bool(state.last_options_list),
        last_inbound_at=state.last_inbound_at,
    )


def _resume_to_json(resume: Resume | None) -> dict[str, Any] | None:
    if resume is None:
        return None
    return {
        "kind": resume.kind,
        "name": resume.name,
        "index": resume.index,
        "request_id": resume.request_id,
        "origin": resume.origin,
        "chain": list(resume.chain),
    }


def _resume_from_json(doc: Mapping[str, Any] | None) -> Resume | None:
    if doc is None:
        return None
    return Resume(
        kind=doc["kind"],
        name=doc["name"],
        index=int(doc["index"]),
        request_id=doc["request_id"],
        origin=doc["origin"],
        chain=tuple(doc["chain"]),
    )


def _option_to_json(option: Option) -> dict[str, str]:
    return {"id": option.id, "title": option.title, "description": option.description}


def _option_from_json(doc: Mapping[str, Any]) -> Option:
    return Option(id=doc["id"], title=doc["title"], description=doc["description"])


# ------------------------------------------------------------------ inbound messages


def message_to_json(message: InboundMessage) -> dict[str, Any]:
    """A JSON-ready dict holding every field of `message` (enough to re-process it)."""
    where = f"message {message.message_id!r}"
    check_json(message.extra, f"{where}: extra")
    return {
        "message_id": message.message_id,
        "contact_id": message.contact_id,
        "type": MessageType(message.type).value,
        "timestamp": datetime_to_json(message.timestamp, f"{where}: timestamp"),
        "text": message.text,
        "payload": message.payload,
        "contact_name": message.contact_name,
        "language": message.language,
        "extra": message.extra,
    }


def message_from_json(doc: Mapping[str, Any]) -> InboundMessage:
    """The message `message_to_json` wrote. Raises `StoreError` if the document is malformed."""
    try:
        return InboundMessage(
            message_id=doc["message_id"],
            contact_id=doc["contact_id"],
            type=MessageType(doc["type"]),
            timestamp=datetime_from_json(doc["timestamp"]),
            text=doc["text"],
            payload=doc["payload"],
            contact_name=doc["contact_name"],
            language=doc["language"],
            extra=dict(doc["extra"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        message_id = doc.get("message_id", "?") if isinstance(doc, Mapping) else "?"
        raise StoreError(
            f"stored message {message_id!r} is unreadable: {type(exc).__name__}: {exc}"
        ) from exc
