"""The commit's preparation (eighteenth session's fast paths) against the code it replaced.

`state_to_row` memoises the text of UTC datetimes, inlines the turn-text cache and the JSON
check's leaves, `stored_state` builds the state field by field, and `checked_dumps_each` names
paths only for a bad value. Each is compared here with the code as it was, on random input.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.adapters.stores import codec
from botfleet.adapters.stores._contract import stored_state
from botfleet.domain.errors import StoreError
from botfleet.domain.outputs import Option
from botfleet.flows.state import HISTORY_LIMIT, ConversationState, Resume, Turn

# ---------------------------------------------------------------- the code as it was


def _old_datetime_to_json(value: Any, where: str) -> str:
    if not isinstance(value, datetime):
        raise StoreError(f"{where}: expected a datetime, got {type(value).__name__}")
    if value.utcoffset() is None:
        raise StoreError(f"{where}: datetime must be timezone-aware, got {value.isoformat()}")
    return value.isoformat()


def _old_plain(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return bool(value - value == 0.0)
    if kind is dict:
        return all(type(k) is str and _old_plain(v) for k, v in value.items())
    if kind is list or kind is tuple:
        return all(_old_plain(v) for v in value)
    return False


def _old_row(state: ConversationState) -> dict[str, Any]:
    """`state_to_row` before: every field encoded afresh, no memo of any kind."""
    where = f"conversation {state.contact_id!r}"
    data = dict(state.data)
    codec.check_json(data, f"{where}: data")
    history = [
        {"role": t.role, "text": t.text, "at": _old_datetime_to_json(t.at, "at")}
        for t in state.history
    ]
    awaiting = codec._resume_to_json(state.awaiting)
    return {
        "tenant_id": state.tenant_id,
        "contact_id": state.contact_id,
        "flow_id": state.flow_id,
        "node": state.node,
        "version": state.version,
        "created_at": _old_datetime_to_json(state.created_at, "created_at"),
        "updated_at": _old_datetime_to_json(state.updated_at, "updated_at"),
        "last_options_list": bool(state.last_options_list),
        "last_inbound_at": (
            None
            if state.last_inbound_at is None
            else _old_datetime_to_json(state.last_inbound_at, "last_inbound_at")
        ),
        "data": codec.dumps(data),
        "history": codec.dumps(history),
        "awaiting": None if awaiting is None else codec.dumps(awaiting),
        "last_options": codec.dumps([codec._option_to_json(o) for o in state.last_options]),
    }


# ---------------------------------------------------------------- random states

utc_times = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
# The same instants in other zones: equal to a UTC time, but written with their own offset.
other_zones = st.sampled_from(
    [timezone(timedelta(hours=2)), timezone(timedelta(minutes=-330)), ZoneInfo("Europe/Lisbon")]
)
times = utc_times | st.builds(lambda t, zone: t.astimezone(zone), utc_times, other_zones)
times_with_fold = st.builds(lambda t, fold: t.replace(fold=fold), times, st.sampled_from([0, 1]))
values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)
json_data = st.dictionaries(st.text(max_size=6), values, max_size=5).filter(codec._plain)
states = st.builds(
    ConversationState,
    tenant_id=st.text(),
    contact_id=st.text(),
    node=st.text(),
    created_at=times_with_fold,
    updated_at=times_with_fold,
    data=json_data,
    history=st.lists(
        st.builds(Turn, role=st.sampled_from(["user", "bot"]), text=st.text(), at=times),
        max_size=HISTORY_LIMIT + 3,
    ).map(tuple),
    version=st.integers(min_value=0, max_value=2**31),
    awaiting=st.none()
    | st.builds(
        Resume,
        kind=st.sampled_from(["state", "task"]),
        name=st.text(),
        index=st.integers(min_value=0, max_value=99),
        request_id=st.text(),
        origin=st.text(),
        chain=st.lists(st.text(), max_size=3).map(tuple),
    ),
    last_options=st.lists(
        st.builds(Option, id=st.text(), title=st.text(), description=st.text()), max_size=3
    ).map(tuple),
    flow_id=st.text(),
    last_options_list=st.booleans(),
    last_inbound_at=st.none() | times_with_fold,
)


@given(states, st.integers(min_value=0, max_value=2**31))
def test_the_row_is_byte_for_byte_what_the_old_encoding_wrote(
    state: ConversationState, expected_version: int
) -> None:
    new = stored_state(state, expected_version)
    expected = _old_row(new)
    for _ in range(2):  # the second time from the memos
        row = codec.state_to_row(new)
        assert {c: row[c] for c in expected} == expected
        assert codec.state_reloaded(new, row) == codec.state_from_row(expected)


@given(states, st.integers(min_value=0, max_value=2**31))
def test_stored_state_is_what_replace_gave(state: ConversationState, expected_version: int) -> None:
    new = stored_state(state, expected_version)
    old = dataclasses.replace(
        state, version=expected_version + 1, history=state.history[-HISTORY_LIMIT:]
    )
    assert new == old
    assert all(getattr(new, f.name) is getattr(old, f.name) for f in dataclasses.fields(old)
               if f.name not in {"version", "history"})  # fmt: skip
    assert all(a is b for a, b in zip(new.history, old.history, strict=True))


def test_stored_state_names_every_field() -> None:
    # A new field must be added to `stored_state`'s constructor call too.
    assert [f.name for f in dataclasses.fields(ConversationState)] == [
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
    ]


@given(st.lists(times_with_fold, max_size=6))
def test_a_datetime_is_written_as_before_whatever_was_written_just_before(
    moments: list[datetime],
) -> None:
    for moment in moments:
        assert codec.datetime_to_json(moment, "t") == _old_datetime_to_json(moment, "t")
        # The same instant in UTC, then in another zone: each keeps its own offset.
        in_utc = moment.astimezone(UTC)
        assert codec.datetime_to_json(in_utc, "t") == in_utc.isoformat()
        assert codec.datetime_to_json(moment, "t") == moment.isoformat()


def test_a_datetime_that_is_not_exactly_utc_takes_the_checks() -> None:
    class Later(datetime):
        def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
            return "later"

    assert codec.datetime_to_json(Later(2024, 1, 1, tzinfo=UTC), "t") == "later"
    with pytest.raises(StoreError, match="t: datetime must be timezone-aware"):
        codec.datetime_to_json(datetime(2024, 1, 1), "t")
    with pytest.raises(StoreError, match="t: expected a datetime, got str"):
        codec.datetime_to_json("2024-01-01T00:00:00+00:00", "t")  # type: ignore[arg-type]


def test_the_datetime_memo_stays_bounded() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for minute in range(codec._UTC_TEXTS_SIZE * 2 + 5):
        moment = start + timedelta(minutes=minute)
        assert codec.datetime_to_json(moment, "t") == moment.isoformat()
    assert len(codec._UTC_TEXTS) <= codec._UTC_TEXTS_SIZE


@given(values)
def test_the_quick_check_vouches_for_exactly_what_it_did(value: Any) -> None:
    assert codec._plain(value) is _old_plain(value)


bad = st.sampled_from([float("nan"), {1: "x"}, datetime(2024, 1, 1), b"raw", {"a"}])


@given(st.lists(values | bad, max_size=4))
def test_outputs_are_encoded_and_refused_as_one_by_one(outputs: list[Any]) -> None:
    try:
        expected = [codec.checked_dumps(o, f"out[{i}]") for i, o in enumerate(outputs)]
    except StoreError as exc:
        with pytest.raises(StoreError) as raised:
            codec.checked_dumps_each(outputs, "out")
        assert str(raised.value) == str(exc)
    else:
        assert codec.checked_dumps_each(outputs, "out") == expected
