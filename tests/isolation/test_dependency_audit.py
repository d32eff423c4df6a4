"""`.ci/audit` with a fake `uv` (no network): vulnerabilities fail it, accepted ones with a
reason do not, an unreachable vulnerability service is a printed skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

AUDIT = Path(__file__).resolve().parents[2] / ".ci" / "audit"

FAKE_UV = """\
import json, sys
args = sys.argv[1:]
if args[0] == "export":
    print("jinja2==3.1.0\\nhttpx==0.28.1")
    sys.exit(0)
mode = {mode!r}
if mode == "offline":
    print("requests.exceptions.ConnectionError: Max retries exceeded", file=sys.stderr)
    sys.exit(1)
ignored = {{args[i + 1] for i, a in enumerate(args) if a == "--ignore-vuln"}}
vulns = [] if mode == "clean" else [{{"id": "GHSA-test-0001", "fix_versions": ["3.1.5"]}}]
deps = [
    {{"name": "jinja2", "version": "3.1.0", "vulns": [v for v in vulns if v["id"] not in ignored]}},
    {{"name": "httpx", "version": "0.28.1", "vulns": []}},
]
if mode == "mirror":
    deps = [{{"name": d["name"], "skip_reason": "not found"}} for d in deps]
report = args[args.index("--output") + 1]
with open(report, "w") as out:
    json.dump({{"dependencies": deps, "fixes": []}}, out)
sys.exit(1 if any(d.get("vulns") for d in deps) else 0)
"""


def run_audit(tmp_path: Path, mode: str, ignore: str = "") -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "uv"
    fake.write_text(f"#!{sys.executable}\n" + FAKE_UV.format(mode=mode))
    fake.chmod(0o755)
    ignore_file = tmp_path / "audit-ignore"
    ignore_file.write_text(ignore)
    env = {**os.environ, "UV": str(fake), "AUDIT_IGNORE_FILE": str(ignore_file)}
    return subprocess.run(
        [str(AUDIT)], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_a_known_vulnerability_fails_the_audit(tmp_path: Path) -> None:
    result = run_audit(tmp_path, "vulnerable")
    assert result.returncode == 1
    assert "VULNERABLE jinja2 3.1.0: GHSA-test-0001 (fixed in 3.1.5)" in result.stdout


def test_an_accepted_vulnerability_with_a_reason_passes(tmp_path: Path) -> None:
    result = run_audit(tmp_path, "vulnerable", "# why\nGHSA-test-0001 only the CLI uses it\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ignores GHSA-test-0001: only the CLI uses it" in result.stdout
    assert "found no known vulnerability" in result.stdout


def test_an_accepted_vulnerability_needs_a_reason(tmp_path: Path) -> None:
    result = run_audit(tmp_path, "vulnerable", "GHSA-test-0001\n")
    assert result.returncode == 1
    assert "has no reason" in result.stderr


def test_a_clean_lock_passes(tmp_path: Path) -> None:
    result = run_audit(tmp_path, "clean")
    assert result.returncode == 0
    assert "checked 2 of 2 locked packages" in result.stdout


@pytest.mark.parametrize("mode", ["offline", "mirror"])
def test_an_unusable_vulnerability_service_is_a_printed_skip(tmp_path: Path, mode: str) -> None:
    result = run_audit(tmp_path, mode)
    assert result.returncode == 0, result.stderr
    assert "ci: pip-audit skipped: " in result.stdout
