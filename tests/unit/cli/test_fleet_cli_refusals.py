"""`botfleet fleet`: what is refused before any process starts (secrets that are missing,
malformed or in a file others may read; reserved tenant names; a mistyped --root; unknown
tenants), each as one message, never a traceback nor a secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Invoke
from fleet_cli_helpers import BOOT_TOKEN, CACHE_KEY, INTERNAL_TOKEN

pytestmark = pytest.mark.usefixtures("fleet_secrets")

# A valid key that is the same in every run: it is part of a test id, and pytest-xdist needs the
# same ids in every worker.
FIXED_KEY = "A" * 43 + "="


def one_line(text: str) -> str:
    """The error box's text as one line (the box wraps long messages)."""
    return " ".join(text.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


def start(invoke: Invoke, root: Path, *extra: str | Path) -> tuple[int, str, str]:
    result = invoke(
        "fleet", "start", "acme", "--control-plane", "http://127.0.0.1:8001", "--root", root,
        "--no-wait", *extra,
    )  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for secret in (BOOT_TOKEN, INTERNAL_TOKEN, CACHE_KEY):
        assert secret not in result.stdout + result.stderr
    return result.exit_code, result.stdout, one_line(result.stderr)


def private(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_a_missing_cache_key_is_never_made_up_and_the_error_says_how_to_make_one(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOTFLEET_CACHE_KEY")
    code, out, err = start(invoke, tmp_path / "fleet")
    assert (code, out) == (2, "")
    assert "no cache key: set BOTFLEET_CACHE_KEY or give --cache-key-file" in err
    assert "Fernet.generate_key()" in err
    assert "> acme.cache-key" in err
    assert not (tmp_path / "fleet").exists()  # nothing started, nothing written


@pytest.mark.parametrize(
    ("variable", "option"),
    [
        ("BOTFLEET_BOOT_TOKEN", "--boot-token-file"),
        ("BOTFLEET_INTERNAL_TOKEN", "--internal-token-file"),
    ],
)
def test_a_missing_token_names_its_variable_and_its_file_option(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, option: str
) -> None:
    monkeypatch.setenv(variable, "  ")  # blank is not set
    code, _, err = start(invoke, tmp_path / "fleet")
    assert code == 2
    assert f"set {variable} or give {option}" in err
    assert "never on the command line" in err


def test_a_secret_file_others_may_read_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    token_file = tmp_path / "boot-token"
    token_file.write_text(BOOT_TOKEN, encoding="utf-8")
    token_file.chmod(0o640)
    code, _, err = start(invoke, tmp_path / "fleet", "--boot-token-file", token_file)
    assert code == 2
    assert "its group or others may use it (mode 0640)" in err
    assert "chmod 600" in err
    assert not (tmp_path / "fleet").exists()


@pytest.mark.parametrize(
    ("option", "text", "problem"),
    [
        ("--cache-key-file", "not-a-fernet-key", "key 1 of 1 is not a Fernet key"),
        ("--cache-key-file", f"{FIXED_KEY},nope", "key 2 of 2 is not a Fernet key"),
        ("--boot-token-file", "bfb two words", "not one token of printable ASCII characters"),
        ("--internal-token-file", '{"other": "x"}', "a JSON object without a 'internal_token'"),
        ("--internal-token-file", '{"internal_token": ', "starts like JSON but is not valid"),
        ("--boot-token-file", '{"boot_token": null}', "a JSON object without a 'boot_token'"),
        ("--boot-token-file", "\n", "empty"),
    ],
)
def test_a_malformed_secret_is_refused_without_showing_it(
    invoke: Invoke, tmp_path: Path, option: str, text: str, problem: str
) -> None:
    secret_file = private(tmp_path / "secret", text)
    code, _, err = start(invoke, tmp_path / "fleet", option, secret_file)
    assert code == 2
    assert f"Invalid value for {option}" in err
    assert problem in err
    if len(text.strip()) > 4:
        assert text.strip() not in err


def test_a_malformed_cache_key_in_the_environment_is_named_not_shown(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOTFLEET_CACHE_KEY", "short-key-value")
    code, _, err = start(invoke, tmp_path / "fleet")
    assert code == 2
    assert "BOTFLEET_CACHE_KEY: key 1 of 1 is not a Fernet key" in err
    assert "short-key-value" not in err


@pytest.mark.parametrize("tenant", ["run", "logs"])
def test_the_fleets_own_folder_names_are_no_tenant_ids(
    invoke: Invoke, tmp_path: Path, tenant: str
) -> None:
    for args in (["start", tenant, "--control-plane", "http://cp"], ["delete", tenant]):
        result = invoke("fleet", *args, "--root", tmp_path)
        assert result.exit_code == 2
        assert f"{tenant!r} is the name of one of the fleet's own folders" in one_line(
            result.stderr
        )


def test_the_control_plane_must_be_a_url(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("fleet", "start", "acme", "--control-plane", "localhost:8001")
    assert result.exit_code == 2
    assert "give the control plane's URL" in one_line(result.stderr)


@pytest.mark.parametrize("command", [["status"], ["watch", "--once"]])
def test_a_root_that_does_not_exist_is_a_usage_error(
    invoke: Invoke, tmp_path: Path, command: list[str]
) -> None:
    # A mistyped --root in a cron line must not pass for a fleet where nothing ever fails.
    result = invoke("fleet", *command, "--root", tmp_path / "typo")
    assert result.exit_code == 2
    assert "no fleet at" in one_line(result.stderr)
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("command", ["stop", "restart", "delete"])
def test_an_unknown_tenant_is_one_error_line(invoke: Invoke, tmp_path: Path, command: str) -> None:
    root = tmp_path / "fleet"
    result = invoke("fleet", command, "ghost", "--root", root)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == [
        f"error: tenant 'ghost': unknown in {root} (never started with this --root)"
    ]
    assert not root.exists()  # asking created nothing


@pytest.mark.parametrize("command", [["stop"], ["restart"], ["delete"], ["status", "acme"]])
def test_an_invalid_tenant_id_is_a_usage_error(
    invoke: Invoke, tmp_path: Path, command: list[str]
) -> None:
    # As a reserved name is (status 2), not a refusal of the orchestrator (1).
    result = invoke("fleet", *command, "a/b", "--root", tmp_path)
    assert result.exit_code == 2
    assert "'a/b' is not a valid tenant id for a folder name" in one_line(result.stderr)


def test_a_tenant_deleted_with_its_data_kept_is_not_called_never_started(
    invoke: Invoke, tmp_path: Path
) -> None:
    data = tmp_path / "acme" / "data"
    data.mkdir(parents=True)  # what `fleet delete acme` leaves
    named = invoke("fleet", "status", "acme", "ghost", "--root", tmp_path)
    assert named.exit_code == 1
    assert named.stderr == (
        f"error: unknown in {tmp_path} (never started with this --root): ghost; deleted from "
        f"{tmp_path}, its data kept (start it to run it again): acme\n"
    )
    assert f"deleted here (its data stays in {data})" in named.stdout
    stopped = invoke("fleet", "stop", "acme", "--root", tmp_path)
    assert stopped.exit_code == 0
    assert f'"detail": "deleted here (its data stays in {data}): nothing to stop"' in (
        stopped.stdout
    )
    restarted = invoke("fleet", "restart", "acme", "--root", tmp_path)
    assert restarted.exit_code == 1
    assert restarted.stderr == (
        f"error: tenant 'acme': deleted here (its data stays in {data}): nothing to restart "
        "(start it instead)\n"
    )


def test_an_empty_fleet_and_unknown_tenants_in_status(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("fleet", "status", "--root", tmp_path)
    assert (result.exit_code, result.stdout) == (0, f"no data planes in {tmp_path}\n")
    named = invoke("fleet", "status", "ghost", "--json", "--root", tmp_path)
    assert named.exit_code == 1
    assert '"state": "unknown"' in named.stdout
    assert named.stderr == f"error: unknown in {tmp_path} (never started with this --root): ghost\n"


def test_botfleet_help_does_not_import_the_orchestrator() -> None:
    code = (
        "import sys; from botfleet.cli.main import build_app; build_app(); "
        "print('botfleet.adapters.orchestration' in sys.modules)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == "False"
