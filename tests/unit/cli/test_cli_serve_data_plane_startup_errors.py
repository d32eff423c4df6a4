"""`botfleet serve data-plane` with settings or a configuration it cannot start with: one
message naming the problem on stderr and exit status 2, as `serve control-plane` does, not a
Python traceback (an operator reads it at the end of the orchestrator's log file)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from botfleet.testing.faults import free_port
from serve_process import hello_tenant, run_to_exit, serve_command

BOOT_TOKEN = "bfb_not-to-be-printed-0123456789"


def _serve(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_to_exit(
        serve_command("data-plane", "--port", str(free_port()), *args),
        cwd=tmp_path,
        env={"DP_DATA_DIR": str(tmp_path / "data"), **env},
    )


def test_an_invalid_setting_is_named_without_a_traceback(tmp_path: Path) -> None:
    result = _serve(
        tmp_path,
        {
            "DP_CACHE_KEY": "not-a-fernet-key",
            "DP_CONTROL_PLANE_URL": "http://127.0.0.1:9",
            "DP_TENANT_ID": "acme",
            "DP_BOOT_TOKEN": BOOT_TOKEN,
        },
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line == (
        "data plane settings are invalid: DP_CACHE_KEY: key 1 of 1 is not a Fernet key (32 "
        "url-safe base64-encoded bytes; the value is not shown)"
    )
    assert BOOT_TOKEN not in result.stderr + result.stdout
    assert "not-a-fernet-key" not in result.stderr + result.stdout


def test_every_invalid_setting_is_named_in_one_line_without_pydantics_link(
    tmp_path: Path,
) -> None:
    result = _serve(tmp_path, {"DP_PORT": "eighty", "DP_BOOT_TOKEN": "two words"})

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("data plane settings are invalid: DP_BOOT_TOKEN must be one token")
    assert "; DP_PORT: Input should be a valid integer" in line
    assert "errors.pydantic.dev" not in line
    assert "two words" not in line


def test_a_missing_tenant_file_is_named_without_a_traceback(tmp_path: Path) -> None:
    result = _serve(tmp_path, {}, "--tenant-config", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    assert "data plane cannot start:" in result.stderr
    assert "missing.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_configuration_source_says_what_to_set(tmp_path: Path) -> None:
    result = _serve(tmp_path, {})
    assert result.returncode == 2
    assert "TENANT_CONFIG_PATH" in result.stderr
    assert "BOOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


AS_ROOT = pytest.mark.skipif(
    getattr(os, "geteuid", lambda: -1)() == 0, reason="root may write in any folder"
)


def _serve_tenant(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`serve data-plane` with a valid local tenant (`acme`) and the given settings."""
    tenant = hello_tenant(tmp_path)
    return _serve(tmp_path, env, "--tenant-config", str(tenant), *args)


def _the_one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The refusal on stderr, after checking the status and that no traceback was written."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("data plane cannot start: ")
    return line.removeprefix("data plane cannot start: ")


def test_a_data_dir_under_a_file_is_named_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    data_dir = tmp_path / "a-file" / "data"

    result = _serve_tenant(tmp_path, DP_DATA_DIR=str(data_dir))

    assert _the_one_line(result) == (
        f"environment: DP_DATA_DIR: cannot create the folder {data_dir / 'acme'}: "
        f"{tmp_path / 'a-file'} is not a directory"
    )
    # Refused before anything was written for the tenant (the log-hash key's warning).
    assert "log_hash_key_not_saved" not in result.stdout


def test_a_state_db_path_under_a_file_names_that_setting(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    state_db = tmp_path / "a-file" / "state.db"

    result = _serve_tenant(tmp_path, DP_STATE_DB_PATH=str(state_db))

    assert _the_one_line(result).startswith(
        f"environment: DP_STATE_DB_PATH: cannot create the folder {state_db.parent}: "
    )


@AS_ROOT
def test_a_data_dir_without_write_permission_is_named(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "acme").mkdir(parents=True)
    (data_dir / "acme").chmod(0o555)
    try:
        result = _serve_tenant(tmp_path, DP_DATA_DIR=str(data_dir))
    finally:
        (data_dir / "acme").chmod(0o755)

    line = _the_one_line(result)
    assert line.startswith(
        f"environment: DP_DATA_DIR: cannot create files in {data_dir / 'acme'}: "
        f"permission denied in {data_dir / 'acme'} (this process runs as user id {os.geteuid()})"
    )


@AS_ROOT
def test_a_missing_data_dir_whose_parent_is_read_only_is_named(tmp_path: Path) -> None:
    parent = tmp_path / "read-only"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        result = _serve_tenant(tmp_path, DP_DATA_DIR=str(parent / "data"))
    finally:
        parent.chmod(0o755)

    line = _the_one_line(result)
    assert line.startswith(
        f"environment: DP_DATA_DIR: cannot create the folder {parent / 'data' / 'acme'}: "
        f"permission denied in {parent} "
    )


def test_a_stray_host_variable_that_does_not_resolve_is_named_as_such(tmp_path: Path) -> None:
    result = _serve_tenant(tmp_path, HOST="no-such-host.invalid")

    line = _the_one_line(result)
    assert line.startswith(
        "cannot listen on 'no-such-host.invalid' (HOST, read as DP_HOST since that is not set): "
        "the name does not resolve ("
    )
    # Refused before the runtime was built: nothing was written for the tenant.
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("env", "args", "named"),
    [
        ({"DP_HOST": "192.0.2.1", "HOST": "127.0.0.1"}, (), "DP_HOST"),
        ({"DP_HOST": "127.0.0.1"}, ("--host", "192.0.2.1"), "--host"),
    ],
)
def test_a_host_of_another_machine_is_named_with_where_it_came_from(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], named: str
) -> None:
    # 192.0.2.1 (TEST-NET-1, documentation only) is no interface of any test machine.
    result = _serve_tenant(tmp_path, *args, **env)

    assert _the_one_line(result).startswith(
        f"cannot listen on '192.0.2.1' ({named}): it is not an address of this machine; "
    )


def test_a_port_in_use_is_refused_before_the_tenant_is_touched(tmp_path: Path) -> None:
    import socket

    tenant = tmp_path / "tenant.yaml"
    tenant.write_text(
        "tenant_id: acme\nflow:\n  id: f\n  initial_state: A\n  states:\n    A:\n"
        "      on_enter: [{action: send_text, text: hi}]\n      transitions: [{target: A}]\n",
        encoding="utf-8",
    )
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _serve(
            tmp_path,
            {"DP_HOST": "127.0.0.1"},
            "--tenant-config",
            str(tenant),
            "--port",
            str(port),
        )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line == (
        f"data plane cannot start: port {port} on 127.0.0.1 (--port) is in use by another "
        "process (another data plane of this tenant?): stop it, or give this one another port; "
        "nothing was started"
    )
    # Refused before the app's start-up: no state file, no job file was opened.
    data = tmp_path / "data"
    assert not data.exists() or not any(data.rglob("*.db"))
