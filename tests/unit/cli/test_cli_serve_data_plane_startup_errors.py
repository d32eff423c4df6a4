"""`botfleet serve data-plane` with settings or a configuration it cannot start with: one
message naming the problem on stderr and exit status 2, as `serve control-plane` does, not a
Python traceback (an operator reads it at the end of the orchestrator's log file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BOOT_TOKEN = "bfb_not-to-be-printed-0123456789"


def _serve(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DP_")
        and name
        not in {"TENANT_CONFIG_PATH", "CONTROL_PLANE_URL", "TENANT_ID", "BOOT_TOKEN", "CACHE_KEY"}
    }
    clean.update({"DP_DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run(
        [sys.executable, "-m", "botfleet.cli.main", "serve", "data-plane", "--port", "1", *args],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
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
    assert result.stderr.startswith("data plane settings are invalid:")
    assert "DP_CACHE_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert BOOT_TOKEN not in result.stderr + result.stdout
    assert "not-a-fernet-key" not in result.stderr + result.stdout


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
