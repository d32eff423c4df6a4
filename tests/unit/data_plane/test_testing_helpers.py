"""The test composition helpers in botfleet.testing.runtime behave as documented."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from botfleet.testing.runtime import (
    MONDAY_MORNING,
    FrozenClock,
    bootstrap_test_runtime,
    make_settings,
    make_tenant_config,
)


def test_settings_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DP_CONNECTOR_TIMEOUT_S", "3")
    monkeypatch.setenv("STATE_DB_PATH", "/elsewhere.db")
    settings = make_settings(Path("/tmp/x.db"))
    assert settings.connector_timeout_s == 10.0
    assert settings.state_db_path == Path("/tmp/x.db")
    assert make_settings(connector_timeout_s=2).connector_timeout_s == 2


def test_the_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock()
    assert clock.now() == MONDAY_MORNING
    assert MONDAY_MORNING.weekday() == 0
    assert clock.advance(minutes=5) == MONDAY_MORNING + timedelta(minutes=5)
    assert clock.advance(timedelta(days=1)) == MONDAY_MORNING + timedelta(days=1, minutes=5)
    with pytest.raises(ValueError, match="timezone-aware"):
        FrozenClock(datetime(2024, 5, 6, 9, 0))  # naive on purpose


def test_a_tenant_config_takes_a_flow_file_or_mapping(tmp_path: Path) -> None:
    flow = tmp_path / "f.yaml"
    flow.write_text("id: f\ninitial_state: A\nstates: {A: {fallback: A}}\n", encoding="utf-8")
    assert make_tenant_config(flow).flow_path == str(flow.resolve())
    inline = make_tenant_config({"id": "g", "initial_state": "A", "states": {"A": {}}})
    assert inline.flow is not None
    assert inline.flow["id"] == "g"
    assert make_tenant_config().timezone == "Europe/Madrid"


async def test_an_unknown_override_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"unknown override.*clocks"):
        async with bootstrap_test_runtime(clocks=FrozenClock()):
            pass
