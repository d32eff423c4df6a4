"""`RestartBackoff`: the pauses `botfleet fleet watch` leaves between two restarts of a data
plane that keeps failing. It used to restart one that refused to start every 15 s forever."""

from __future__ import annotations

import json
from pathlib import Path

from botfleet.adapters.orchestration.restart_backoff import RestartBackoff


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_pause_doubles_from_the_interval_up_to_the_cap() -> None:
    clock = Clock()
    backoff = RestartBackoff(None, first_s=15, cap_s=300, clock=clock)
    assert backoff.wait_s("acme") == 0  # the first failure is restarted at once

    pauses = [backoff.restarted("acme") for _ in range(8)]

    assert pauses == [15, 30, 60, 120, 240, 300, 300, 300]
    assert backoff.wait_s("acme") == 300
    clock.now += 299
    assert backoff.wait_s("acme") == 1
    clock.now += 1
    assert backoff.wait_s("acme") == 0
    assert backoff.wait_s("beta") == 0  # per tenant


def test_a_data_plane_that_stayed_up_starts_a_fresh_streak() -> None:
    clock = Clock()
    backoff = RestartBackoff(None, first_s=15, stable_s=300, clock=clock)
    for _ in range(5):
        backoff.restarted("acme")
    clock.now += 299
    backoff.seen_up("acme")  # up, but not for long enough yet
    assert backoff.restarted("acme") == 300  # the streak goes on: its sixth restart

    clock.now += 300
    backoff.seen_up("acme")
    assert backoff.wait_s("acme") == 0
    assert backoff.restarted("acme") == 15


def test_a_stopped_or_deleted_tenant_starts_a_fresh_streak() -> None:
    backoff = RestartBackoff(None, first_s=15, clock=Clock())
    backoff.restarted("acme")
    backoff.restarted("beta")
    backoff.forget("acme")
    backoff.keep_only(["acme"])  # beta was deleted

    assert backoff.wait_s("acme") == backoff.wait_s("beta") == 0


def test_a_clock_set_back_does_not_hold_the_restart() -> None:
    clock = Clock()
    backoff = RestartBackoff(None, first_s=15, clock=clock)
    backoff.restarted("acme")
    clock.now -= 3600

    assert backoff.wait_s("acme") == 0


def test_a_refusal_is_told_once_per_distinct_reason_in_a_streak() -> None:
    clock = Clock()
    backoff = RestartBackoff(None, first_s=15, clock=clock)
    told = []
    for refusal in ["disk full", "disk full", "disk full", None, "disk full", "locked", "locked"]:
        backoff.restarted("acme")
        told.append(backoff.first_telling("acme", refusal))

    assert told == [True, False, False, True, True, True, False]
    clock.now += 1000
    backoff.seen_up("acme")  # the streak ends: a later refusal is news again
    backoff.restarted("acme")
    assert backoff.first_telling("acme", "locked")


def test_the_streaks_outlive_the_process_for_watch_once(tmp_path: Path) -> None:
    """`watch --once` from cron: each run is a new process, reading the file the last left."""
    path = tmp_path / "run" / "watch.json"
    clock = Clock()
    first = RestartBackoff(path, first_s=60, clock=clock)
    first.restarted("acme")
    first.restarted("acme")
    first.first_telling("acme", "disk full")

    later = RestartBackoff(path, first_s=60, clock=clock)

    assert later.wait_s("acme") == 120
    assert not later.first_telling("acme", "disk full")
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_damaged_record_is_a_fresh_start(tmp_path: Path) -> None:
    path = tmp_path / "watch.json"
    for text in ["{not json", "[]", '{"acme": {"restarts": "9", "restarted_at": 1}}']:
        path.write_text(text, encoding="utf-8")
        assert RestartBackoff(path, first_s=15, clock=Clock()).wait_s("acme") == 0
    path.write_text(json.dumps({"acme": {"restarts": 1, "restarted_at": 999_990.0}}))
    assert RestartBackoff(path, first_s=15, clock=Clock()).wait_s("acme") == 5
