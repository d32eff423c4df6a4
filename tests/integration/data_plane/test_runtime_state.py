"""The conversation state the runtime stores: version per turn, bounded history, timestamps."""

from __future__ import annotations

from pathlib import Path

import pytest

from botfleet.flows.state import HISTORY_LIMIT
from botfleet.testing.runtime import (
    MONDAY_MORNING,
    FrozenClock,
    bootstrap_test_runtime,
    make_settings,
    text_message,
)


@pytest.fixture(params=["memory", "sqlite"])
def settings_kind(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    if request.param == "memory":
        return {}
    return {"settings": make_settings(tmp_path / "state.db")}


async def test_version_history_and_times_follow_the_turns(settings_kind: dict[str, object]) -> None:
    clock = FrozenClock()
    async with bootstrap_test_runtime(clock=clock, **settings_kind) as runtime:  # type: ignore[arg-type]
        turns = HISTORY_LIMIT + 5
        for i in range(turns):
            clock.advance(minutes=1)
            await runtime.handle(text_message("c1", f"message {i}"))
        state = await runtime.states.load("c1")

    assert state is not None
    assert state.version == turns
    assert state.created_at == MONDAY_MORNING.replace(minute=1)
    assert state.updated_at == clock.now()
    assert len(state.history) == HISTORY_LIMIT
    # the newest turns are kept, user and bot lines alternating, stamped with their turn's time
    assert state.history[-2].role == "user"
    assert state.history[-2].text == f"message {turns - 1}"
    assert state.history[-1].role == "bot"
    assert state.history[-1].text == f"You said: message {turns - 1}"
    assert state.history[-1].at == clock.now()
    assert state.history[0].text == f"message {turns - HISTORY_LIMIT // 2}"


async def test_a_new_contact_starts_in_the_initial_state(settings_kind: dict[str, object]) -> None:
    async with bootstrap_test_runtime(**settings_kind) as runtime:  # type: ignore[arg-type]
        result = await runtime.handle(text_message("fresh", "hello"))
        state = await runtime.states.load("fresh")
    assert [getattr(o, "text", None) for o in result.outputs] == ["You said: hello"]
    assert state is not None
    assert (state.node, state.version, state.flow_id) == ("ECHO", 1, "echo_v1")
    assert state.created_at == state.updated_at == MONDAY_MORNING
    assert state.awaiting is None
