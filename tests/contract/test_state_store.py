"""Contract of StateStore: what every conversation state adapter must do."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from botfleet.domain.errors import ConcurrentUpdate, StoreError
from botfleet.domain.outputs import Option
from botfleet.flows.state import HISTORY_LIMIT, ConversationState, Resume, Turn
from botfleet.ports.stores import StateStore
from botfleet.testing.stores import SAMPLE_TIME, sample_state

MADRID_SUMMER = timezone(timedelta(hours=2))


def full_state() -> ConversationState:
    """A state with every field set to something other than its default."""
    return sample_state(
        "34600111222",
        tenant_id="peluqueria",
        node="ASK_DATE",
        flow_id="booking-v3",
        created_at=datetime(2024, 5, 6, 11, 0, 0, 123456, tzinfo=MADRID_SUMMER),
        updated_at=datetime(2024, 5, 6, 9, 5, tzinfo=UTC),
        data={
            "name": "Ana",
            "count": 3,
            "price": 12.5,
            "vip": True,
            "note": None,
            "slots": ["10:00", "10:30"],
            "nested": {"a": [1, {"b": "ç€😀"}], "empty": {}},
        },
        history=(
            Turn("user", "hola", datetime(2024, 5, 6, 9, 0, tzinfo=UTC)),
            Turn("bot", "¿Qué día?", datetime(2024, 5, 6, 11, 0, 1, tzinfo=MADRID_SUMMER)),
        ),
        awaiting=Resume(
            kind="state",
            name="ASK_DATE",
            index=2,
            request_id="req-7",
            origin="ASK_DATE",
            chain=("MENU", "ASK_DATE"),
        ),
        last_options=(Option("mon", "Lunes", "6 de mayo"), Option("tue", "Martes")),
        last_options_list=True,
        last_inbound_at=datetime(2024, 5, 6, 11, 4, tzinfo=MADRID_SUMMER),
    )


async def test_loading_an_unknown_contact_gives_none(state_store: StateStore) -> None:
    assert await state_store.load("nobody") is None


async def test_a_saved_state_loads_back_with_every_field(state_store: StateStore) -> None:
    state = full_state()
    saved = await state_store.save(state, expected_version=0)
    loaded = await state_store.load(state.contact_id)
    assert loaded == replace(state, version=1)
    assert loaded == saved
    assert loaded is not None
    assert loaded.created_at.utcoffset() == timedelta(hours=2)
    assert loaded.awaiting is not None
    assert loaded.awaiting.chain == ("MENU", "ASK_DATE")


async def test_each_save_returns_the_next_version(state_store: StateStore) -> None:
    first = await state_store.save(sample_state(), expected_version=0)
    second = await state_store.save(replace(first, node="ASK_NAME"), expected_version=1)
    assert (first.version, second.version) == (1, 2)
    loaded = await state_store.load("contact-1")
    assert loaded is not None
    assert (loaded.version, loaded.node) == (2, "ASK_NAME")


async def test_the_version_inside_the_state_is_ignored(state_store: StateStore) -> None:
    saved = await state_store.save(sample_state(version=42), expected_version=0)
    assert saved.version == 1


async def test_a_stale_version_is_rejected(state_store: StateStore) -> None:
    first = await state_store.save(sample_state(), expected_version=0)
    await state_store.save(replace(first, node="WINNER"), expected_version=1)
    with pytest.raises(ConcurrentUpdate, match=r"expected version 1, found 2"):
        await state_store.save(replace(first, node="LOSER"), expected_version=1)
    loaded = await state_store.load("contact-1")
    assert loaded is not None
    assert loaded.node == "WINNER"


async def test_creating_a_state_that_exists_is_rejected(state_store: StateStore) -> None:
    await state_store.save(sample_state(node="FIRST"), expected_version=0)
    with pytest.raises(ConcurrentUpdate, match=r"expected version 0, found 1"):
        await state_store.save(sample_state(node="SECOND"), expected_version=0)
    loaded = await state_store.load("contact-1")
    assert loaded is not None
    assert loaded.node == "FIRST"


async def test_updating_a_state_that_does_not_exist_is_rejected(state_store: StateStore) -> None:
    with pytest.raises(ConcurrentUpdate, match=r"expected version 3, found None"):
        await state_store.save(sample_state(), expected_version=3)
    assert await state_store.load("contact-1") is None


async def test_a_negative_expected_version_is_a_programming_error(state_store: StateStore) -> None:
    with pytest.raises(ValueError, match="expected_version must be >= 0"):
        await state_store.save(sample_state(), expected_version=-1)


@pytest.mark.parametrize("expected_version", [0, 1])
async def test_concurrent_saves_with_the_same_expected_version_let_exactly_one_win(
    state_store: StateStore, expected_version: int
) -> None:
    if expected_version:
        await state_store.save(sample_state(), expected_version=0)
    attempts = [sample_state(node=f"N{i}") for i in range(10)]
    results = await asyncio.gather(
        *(state_store.save(s, expected_version=expected_version) for s in attempts),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, ConversationState)]
    losers = [r for r in results if isinstance(r, ConcurrentUpdate)]
    assert len(winners) == 1
    assert len(losers) == 9
    assert await state_store.load("contact-1") == winners[0]
    assert winners[0].version == expected_version + 1


async def test_delete_forgets_the_contact(state_store: StateStore) -> None:
    await state_store.save(sample_state("a"), expected_version=0)
    await state_store.save(sample_state("b"), expected_version=0)
    await state_store.delete("a")
    assert await state_store.load("a") is None
    assert await state_store.load("b") is not None
    # A deleted contact starts over as new.
    again = await state_store.save(sample_state("a"), expected_version=0)
    assert again.version == 1


async def test_deleting_an_unknown_contact_does_nothing(state_store: StateStore) -> None:
    await state_store.delete("nobody")
    assert await state_store.count() == 0


async def test_count_gives_the_number_of_conversations(state_store: StateStore) -> None:
    assert await state_store.count() == 0
    for contact in ("a", "b", "c"):
        await state_store.save(sample_state(contact), expected_version=0)
    await state_store.save(sample_state("a", node="X"), expected_version=1)
    assert await state_store.count() == 3
    await state_store.delete("b")
    assert await state_store.count() == 2


async def test_history_is_bounded_to_the_latest_turns(state_store: StateStore) -> None:
    turns = tuple(
        Turn("user", f"t{i}", SAMPLE_TIME + timedelta(seconds=i)) for i in range(HISTORY_LIMIT + 5)
    )
    saved = await state_store.save(sample_state(history=turns), expected_version=0)
    loaded = await state_store.load("contact-1")
    assert loaded is not None
    assert loaded.history == turns[-HISTORY_LIMIT:] == saved.history


async def test_later_changes_to_the_data_do_not_reach_the_store(state_store: StateStore) -> None:
    data = {"items": ["a"]}
    await state_store.save(sample_state(data=data), expected_version=0)
    data["items"].append("b")
    loaded = await state_store.load("contact-1")
    assert loaded is not None
    assert loaded.data == {"items": ["a"]}


async def test_data_that_is_not_json_is_refused_naming_the_field(state_store: StateStore) -> None:
    state = sample_state(data={"booking": {"when": SAMPLE_TIME}})
    with pytest.raises(StoreError, match=r"data\.booking\.when: a datetime is not JSON-able"):
        await state_store.save(state, expected_version=0)
    assert await state_store.load("contact-1") is None


async def test_a_naive_datetime_is_refused(state_store: StateStore) -> None:
    state = sample_state(updated_at=datetime(2024, 5, 6, 9, 0))
    with pytest.raises(StoreError, match="updated_at: datetime must be timezone-aware"):
        await state_store.save(state, expected_version=0)
