"""A data plane that refused to start is `failed` with its refusal on the detail's first line.

The first line is all that `botfleet fleet status` (its table) and `botfleet fleet watch` (its
`reason`) show of a detail; it used to say only "process N exited; end of <log>", so an
operator saw a tenant failing at every restart without the reason (a full disk, a missing
secret) unless they read the JSON or the log.
"""

from __future__ import annotations

import os
from pathlib import Path

from botfleet.adapters.orchestration import LocalOrchestrator
from botfleet.adapters.orchestration._exit_reason import OOM_HINT, exit_words, start_refusal

REFUSAL = (
    "data plane cannot start: /srv/fleet/acme/data/acme/state.db: cannot open the tenant "
    "store: disk I/O error; the file could not be read or written (an I/O error): check the disk"
)
JSON_LINES = [
    '{"tenant": "acme", "event": "boot_pulled", "level": "info"}',
    '{"event": "Application startup failed. Exiting.", "level": "error", "tenant": "acme"}',
]


def _failed(tmp_path: Path, log_lines: list[str]) -> LocalOrchestrator:
    """A fleet whose tenant `acme` has a pid file naming a process that is not its data plane
    (this test's), so `status` finds it exited, and a log ending with `log_lines`."""
    fleet = LocalOrchestrator(tmp_path / "fleet")
    fleet.pid_file("acme").parent.mkdir(parents=True)
    fleet.pid_file("acme").write_text(str(os.getpid()))
    fleet.log_file("acme").parent.mkdir(parents=True)
    fleet.log_file("acme").write_text("\n".join(log_lines) + "\n")
    fleet.tenant_dir("acme").mkdir(parents=True)
    return fleet


async def test_a_refusal_to_start_is_the_first_line_of_the_detail(tmp_path: Path) -> None:
    fleet = _failed(tmp_path, [*JSON_LINES, REFUSAL])

    status = await fleet.status("acme")

    assert status.state == "failed"
    first = status.detail.splitlines()[0]
    assert first == (f"process {os.getpid()} exited ({REFUSAL}); end of {fleet.log_file('acme')}:")
    assert status.detail.splitlines()[-1] == REFUSAL  # the end of the log follows as before


async def test_a_process_killed_after_it_started_has_no_reason(tmp_path: Path) -> None:
    # An earlier start's refusal, then a start that ran and was killed: not this exit's reason.
    fleet = _failed(tmp_path, [REFUSAL, *JSON_LINES])

    first = (await fleet.status("acme")).detail.splitlines()[0]

    assert first == f"process {os.getpid()} exited; end of {fleet.log_file('acme')}:"


def test_a_flows_errors_after_the_refusal_are_its_own() -> None:
    refusal = "data plane cannot start: 1 error(s) in flow:"
    tail = "\n".join([*JSON_LINES, refusal, "  flow.yaml:12: states.MENU: unknown state 'X'"])

    assert start_refusal(tail) == refusal


def test_invalid_settings_are_a_refusal_too() -> None:
    line = "data plane settings are invalid: DP_CACHE_KEY: key 1 of 1 is not a Fernet key"

    assert start_refusal(f"{line}\n") == line
    assert start_refusal("") is None
    assert start_refusal("\n".join(JSON_LINES)) is None


def test_how_a_process_ended_in_words() -> None:
    assert exit_words(None) == "exited"  # not our child: not known
    assert exit_words(0) == "exited with status 0"
    assert exit_words(2) == "exited with status 2"
    assert exit_words(-15) == "was killed by SIGTERM (signal 15)"
    assert exit_words(-9) == f"was killed by SIGKILL (signal 9), {OOM_HINT}"
    assert "OOM killer" in OOM_HINT
