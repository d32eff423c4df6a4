"""The store codec round-trips every stored value exactly (property tests), also through SQLite."""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botfleet.adapters.stores import SqliteTenantStore, codec
from botfleet.domain.errors import StoreError
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import Option
from botfleet.flows.state import HISTORY_LIMIT, ConversationState, Resume, Turn
from botfleet.testing.stores import sample_state

offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC) | offsets
)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
options = st.builds(Option, id=st.text(), title=st.text(), description=st.text())
turns = st.builds(Turn, role=st.sampled_from(["user", "bot"]), text=st.text(), at=aware_datetimes)
resumes = st.builds(
    Resume,
    kind=st.sampled_from(["state", "task"]),
    name=st.text(),
    index=st.integers(min_value=0, max_value=1000),
    request_id=st.text(),
    origin=st.text(),
    chain=st.lists(st.text(), max_size=4).map(tuple),
)
states = st.builds(
    ConversationState,
    tenant_id=st.text(),
    contact_id=st.text(),
    node=st.text(),
    created_at=aware_datetimes,
    updated_at=aware_datetimes,
    data=st.dictionaries(st.text(), json_values, max_size=6),
    history=st.lists(turns, max_size=HISTORY_LIMIT).map(tuple),
    version=st.integers(min_value=0, max_value=2**31),
    awaiting=st.none() | resumes,
    last_options=st.lists(options, max_size=5).map(tuple),
    flow_id=st.text(),
    last_options_list=st.booleans(),
    last_inbound_at=st.none() | aware_datetimes,
)
messages = st.builds(
    InboundMessage,
    message_id=st.text(),
    contact_id=st.text(),
    type=st.sampled_from(MessageType),
    timestamp=aware_datetimes,
    text=st.text(),
    payload=st.text(),
    contact_name=st.text(),
    language=st.text(max_size=5),
    extra=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)


@given(states)
def test_a_state_survives_a_trip_through_json_text(state: ConversationState) -> None:
    text = codec.dumps(codec.state_to_json(state))
    text.encode("utf-8")  # no lone surrogate left unescaped: SQLite stores UTF-8
    assert codec.state_from_json(json.loads(text)) == state


@given(messages)
def test_a_message_survives_a_trip_through_json_text(message: InboundMessage) -> None:
    text = codec.dumps(codec.message_to_json(message))
    assert codec.message_from_json(json.loads(text)) == message


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states)
def test_a_state_survives_a_trip_through_sqlite(state: ConversationState) -> None:
    async def trip(path: Path) -> ConversationState | None:
        async with SqliteTenantStore.open(path) as store:
            await store.states.save(state, expected_version=0)
            return await store.states.load(state.contact_id)

    with tempfile.TemporaryDirectory() as folder:
        loaded = asyncio.run(trip(Path(folder) / "tenant.db"))
    assert loaded is not None
    assert loaded.version == 1
    assert loaded == ConversationState(**{**_fields(state), "version": 1})


def _fields(state: ConversationState) -> dict[str, Any]:
    return {name: getattr(state, name) for name in ConversationState.__slots__}


def test_a_zoneinfo_datetime_comes_back_as_the_same_instant() -> None:
    madrid = datetime(2024, 5, 6, 11, 30, tzinfo=ZoneInfo("Europe/Madrid"))
    doc = codec.state_to_json(sample_state(created_at=madrid))
    assert doc["created_at"] == "2024-05-06T11:30:00+02:00"
    assert codec.state_from_json(doc).created_at == madrid


def test_tuples_in_data_come_back_as_lists() -> None:
    doc = json.loads(codec.dumps(codec.state_to_json(sample_state(data={"pair": (1, "a")}))))
    assert codec.state_from_json(doc).data == {"pair": [1, "a"]}


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"n": float("nan")}, r"data\.n: nan is not valid JSON"),
        ({"n": [1, float("inf")]}, r"data\.n\[1\]: inf is not valid JSON"),
        ({"m": {1: "one"}}, r"data\.m: key 1 is not a string"),
        ({"s": {"a", "b"}}, r"data\.s: a set is not JSON-able"),
    ],
)
def test_data_that_is_not_json_is_refused_naming_the_field(
    data: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(StoreError, match=complaint):
        codec.state_to_json(sample_state(data=data))


def test_a_state_stored_before_lists_were_told_apart_offers_buttons() -> None:
    doc = codec.state_to_json(sample_state(last_options=(Option("a", "A"),)))
    del doc["last_options_list"]
    assert codec.state_from_json(doc).last_options_list is False


def test_a_state_stored_before_last_inbound_at_was_kept_counts_from_updated_at() -> None:
    doc = codec.state_to_json(sample_state(last_inbound_at=datetime(2024, 1, 1, tzinfo=UTC)))
    del doc["last_inbound_at"]
    state = codec.state_from_json(doc)
    assert state.last_inbound_at is None
    assert state.last_heard == state.updated_at


def test_a_malformed_stored_state_is_reported_with_the_contact() -> None:
    doc = codec.state_to_json(sample_state("c-9"))
    del doc["node"]
    with pytest.raises(StoreError, match=r"stored conversation 'c-9' is unreadable: KeyError"):
        codec.state_from_json(doc)


def test_a_stored_datetime_without_offset_is_refused() -> None:
    doc = codec.message_to_json(
        InboundMessage("m1", "c1", MessageType.TEXT, datetime(2024, 1, 1, tzinfo=UTC))
    )
    doc["timestamp"] = "2024-01-01T00:00:00"
    with pytest.raises(StoreError, match=r"stored message 'm1' is unreadable: .*no UTC offset"):
        codec.message_from_json(doc)


# ---------------------------------------------------------------- the commit's fast paths

tuple_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)
utc_times = st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC))
commit_states = st.builds(
    ConversationState,
    tenant_id=st.text(),
    contact_id=st.text(),
    node=st.text(),
    # UTC times take the fast path, other offsets the full round trip: both are covered
    created_at=utc_times | aware_datetimes,
    updated_at=utc_times,
    data=st.dictionaries(st.text(max_size=6), tuple_values, max_size=5),
    history=st.lists(
        st.builds(Turn, role=st.sampled_from(["user", "bot"]), text=st.text(), at=utc_times)
        | turns,
        max_size=HISTORY_LIMIT,
    ).map(tuple),
    version=st.integers(min_value=1, max_value=2**31),
    awaiting=st.none() | st.none() | resumes,
    last_options=st.lists(options, max_size=3).map(tuple),
    flow_id=st.text(),
    last_options_list=st.booleans(),
    last_inbound_at=st.none() | utc_times | aware_datetimes,
)


def _shape(value: Any) -> Any:
    """`value` with every container's exact type spelled out (a tuple is not a list here)."""
    if isinstance(value, dict):
        return ("dict", sorted((k, _shape(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_shape(v) for v in value])
    return (type(value).__name__, value)


def _exactly(state: ConversationState) -> Any:
    """Everything about a state that a caller could observe, times by their text too."""
    return (
        {name: value for name, value in _fields(state).items() if name != "data"},
        _shape(dict(state.data)),
        [(t.role, t.text, t.at.isoformat(), t.at.utcoffset()) for t in state.history],
        (state.created_at.isoformat(), state.updated_at.isoformat()),
    )


@given(commit_states)
def test_the_row_holds_exactly_the_text_of_the_json_document(state: ConversationState) -> None:
    row = codec.state_to_row(state)
    doc = codec.state_to_json(state)
    for column, value in doc.items():
        if column in {"data", "history", "awaiting", "last_options"}:
            assert row[column] == (None if value is None else codec.dumps(value)), column
        else:
            assert row[column] == value, column
    # twice: the second time every turn's text comes from the cache
    assert codec.state_to_row(state)["history"] == codec.dumps(doc["history"])


@given(commit_states)
def test_the_reloaded_state_is_what_parsing_the_row_gives(state: ConversationState) -> None:
    row = codec.state_to_row(state)
    parsed = codec.state_from_json(
        {
            c: codec.loads(v) if c in {"data", "history", "last_options"} else v
            for c, v in row.items()
            if c not in {codec.HISTORY_IS_PLAIN, codec.DATA_BY_ORJSON}
        }
        | {"awaiting": None if row["awaiting"] is None else codec.loads(row["awaiting"])}
    )
    reloaded = codec.state_reloaded(state, row)
    assert reloaded == parsed
    assert _exactly(reloaded) == _exactly(parsed)
    assert reloaded.data is not state.data  # the store's own containers


@pytest.mark.parametrize(
    ("value", "by_orjson"),
    [(2**70, False), (-(2**63) - 1, False), ("\ud83d broken", False), (2**63 - 1, True)],
)
def test_data_orjson_cannot_write_is_read_back_by_the_standard_library(
    value: Any, by_orjson: bool
) -> None:
    # orjson would read an integer beyond 64 bits back as a float: the row says who wrote it.
    state = sample_state(data={"value": value, "other": [1.5]})
    row = codec.state_to_row(state)
    assert row[codec.DATA_BY_ORJSON] is by_orjson
    reloaded = codec.state_reloaded(state, row)
    assert reloaded.data == {"value": value, "other": [1.5]}
    assert type(reloaded.data["value"]) is type(value)


bad_leaves = st.sampled_from(
    [float("nan"), float("inf"), {1: "x"}, {"a", "b"}, datetime(2024, 1, 1), b"raw", object()]
)
maybe_bad: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | bad_leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=10,
)


@given(maybe_bad)
def test_the_quick_json_check_refuses_exactly_what_the_full_check_refuses(value: Any) -> None:
    try:
        codec._check_at(value, "v")
    except StoreError as full:
        with pytest.raises(StoreError) as quick:
            codec.check_json(value, "v")
        assert str(quick.value) == str(full)  # the same path is named
    else:
        codec.check_json(value, "v")
        codec.dumps(value)  # and what passes is encodable


def test_turn_texts_keep_the_recently_used_and_forget_the_rest() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    cache = codec._TurnTexts(4)
    turns = [Turn("user", f"t{i}", at) for i in range(12)]
    for turn in turns[:5]:  # the fifth: the young generation was full, it became the old one
        cache.put((turn, turn.text, True))

    def text(turn: Turn) -> str | None:
        entry = cache.get(turn)
        return None if entry is None else entry[1]

    assert text(turns[0]) == "t0"  # a hit in the old generation is kept (moved young)
    for turn in turns[5:12]:
        cache.put((turn, turn.text, True))
    assert len(cache) <= 8
    assert text(turns[1]) is None  # not used since: forgotten
    assert text(turns[11]) == "t11"
    assert text(Turn("user", "t11", at)) is None  # an equal turn is another object


def test_an_evicted_turn_is_encoded_again() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    history = tuple(Turn("user", f"t{i}", at) for i in range(2 * codec._TURN_TEXTS.size + 5))
    text = codec.history_to_json_text(history, "c")
    assert len(codec._TURN_TEXTS) <= 2 * codec._TURN_TEXTS.size
    expected = [
        {"role": "user", "text": f"t{i}", "at": at.isoformat()} for i in range(len(history))
    ]
    assert json.loads(text) == expected
    assert codec.history_to_json_text(history[:3], "c") == codec.dumps(expected[:3])
