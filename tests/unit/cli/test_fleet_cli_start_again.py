"""`botfleet fleet start` of a tenant started before under the root: what the command line does
not give (--control-plane, --port, --host, the secrets) is taken from its last start and named
on stderr, so that after a boot-token rotation `start TENANT --boot-token-file NEW` is enough;
the next steps are printed only when there is something to do. Without an earlier start a
missing --control-plane is one `error:` line, as the orchestrator's refusals are.

The data plane is a stand-in (an HTTP server answering /health as the tenant), run as
`sys.executable`: the command starts data planes with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import Invoke
from fleet_cli_helpers import CACHE_KEY, INTERNAL_TOKEN, SECRETS

from botfleet.testing.faults import free_port

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")


def launch(root: Path) -> dict[str, object]:
    record: dict[str, object] = json.loads((root / "acme" / "launch.json").read_text("utf-8"))
    return record


def test_a_start_after_a_rotation_needs_only_the_new_token(
    invoke: Invoke, fleet_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = invoke(
        "fleet", "start", "acme", "--control-plane", "http://127.0.0.1:8001", "--root", fleet_root,
        "--host", "127.0.0.2", "--timeout", "20",
    )  # fmt: skip
    assert first.exit_code == 0, first.stderr
    port = json.loads(first.stdout)["port"]
    assert "next steps" in first.stderr
    assert f"fleet watch --root {fleet_root.resolve()} --host 127.0.0.2" in first.stderr

    for name in SECRETS:  # another shell, a day later: only the new token at hand
        monkeypatch.delenv(name)
    new_token = tmp_path / "new-boot-token"
    new_token.write_text("bfb_new-boot-token\n", encoding="utf-8")
    new_token.chmod(0o600)
    again = invoke(
        "fleet", "start", "acme", "--boot-token-file", new_token, "--root", fleet_root,
        "--timeout", "20",
    )  # fmt: skip
    assert again.exit_code == 0, again.stderr
    view = json.loads(again.stdout)
    assert (view["healthy"], view["port"], view["url"]) == (
        True,
        port,
        f"http://127.0.0.2:{port}",
    )
    assert (
        f"reused from the last start of 'acme' under {fleet_root.resolve()}: --control-plane "
        "http://127.0.0.1:8001, --host 127.0.0.2, the cache key, the internal token"
    ) in again.stderr
    # Neither the URL nor the internal token changed: nothing left to do.
    assert "next steps" not in again.stderr
    for secret in ("bfb_new-boot-token", CACHE_KEY, INTERNAL_TOKEN):
        assert secret not in again.stdout + again.stderr
    spec = launch(fleet_root)["spec"]
    assert isinstance(spec, dict)
    assert spec["boot_token"] == "bfb_new-boot-token"
    assert (spec["cache_key"], spec["internal_token"]) == (CACHE_KEY, INTERNAL_TOKEN)
    assert spec["control_plane_url"] == "http://127.0.0.1:8001"


def test_a_changed_internal_token_is_the_only_step_left(
    invoke: Invoke, fleet_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = ("fleet", "start", "acme", "--root", fleet_root, "--no-wait")
    first = invoke(*command, "--control-plane", "http://127.0.0.1:8001", "--port", free_port())
    assert first.exit_code == 0, first.stderr
    port = json.loads(first.stdout)["port"]
    monkeypatch.setenv("BOTFLEET_INTERNAL_TOKEN", "a-new-internal-token")
    again = invoke(*command)
    assert again.exit_code == 0, again.stderr
    assert f"--control-plane http://127.0.0.1:8001, --port {port}\n" in again.stderr
    steps = [line for line in again.stderr.splitlines() if line.startswith("  - ")]
    assert len(steps) == 1
    assert steps[0].startswith("  - store the internal token as the tenant's data_plane")


def test_a_first_start_without_the_control_plane_is_one_error_line(
    invoke: Invoke, fleet_root: Path
) -> None:
    result = invoke("fleet", "start", "acme", "--root", fleet_root, "--no-wait")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: missing option --control-plane: give the control plane's URL, e.g. "
        "http://127.0.0.1:8001 (tenant 'acme' has no earlier start under "
        f"{fleet_root.resolve()} to take it from)"
    ]
    assert not fleet_root.exists()


def test_a_missing_secret_is_one_error_line_too(
    invoke: Invoke, fleet_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOTFLEET_BOOT_TOKEN")
    result = invoke(
        "fleet", "start", "acme", "--control-plane", "http://127.0.0.1:8001", "--root", fleet_root
    )
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: Invalid value for --boot-token-file: no boot token: set ")


def test_a_host_other_hosts_can_reach_is_never_carried_over(
    invoke: Invoke, fleet_root: Path
) -> None:
    command = ("fleet", "start", "acme", "--root", fleet_root, "--no-wait")
    first = invoke(
        *command, "--control-plane", "http://127.0.0.1:8001", "--port", free_port(),
        "--host", "0.0.0.0",
    )  # fmt: skip
    assert first.exit_code == 0, first.stderr
    again = invoke(*command)
    assert again.exit_code == 2
    assert (
        "tenant 'acme' was started on 0.0.0.0, which other hosts can reach: give --host 0.0.0.0 "
        "to start it there again, or --host 127.0.0.1"
    ) in " ".join(again.stderr.split())
    assert invoke(*command, "--host", "0.0.0.0").exit_code == 0


def test_the_poll_interval_and_environment_of_an_api_start_are_kept(
    invoke: Invoke, fleet_root: Path
) -> None:
    command = ("fleet", "start", "acme", "--root", fleet_root, "--no-wait")
    first = invoke(*command, "--control-plane", "http://127.0.0.1:8001", "--port", free_port())
    assert first.exit_code == 0, first.stderr
    # As the Python API (`LocalOrchestrator.start(DataPlaneSpec(...))`) saves them.
    record = launch(fleet_root)
    spec = record["spec"]
    assert isinstance(spec, dict)
    spec.update(config_poll_s=5, env={"DP_SCHEDULER_GRACE_S": "900"})
    (fleet_root / "acme" / "launch.json").write_text(json.dumps(record), encoding="utf-8")

    again = invoke(*command)
    assert again.exit_code == 0, again.stderr
    assert "config_poll_s 5, env DP_SCHEDULER_GRACE_S" in again.stderr
    assert "900" not in again.stderr  # names only
    kept = launch(fleet_root)["spec"]
    assert isinstance(kept, dict)
    assert (kept["config_poll_s"], kept["env"]) == (5, {"DP_SCHEDULER_GRACE_S": "900"})
    invoke("fleet", "stop", "acme", "--root", fleet_root)
