"""The `cp.env` recipe of docs/deployment.md ("Control plane on PostgreSQL"), run as written:
the database password, typed at the prompt, reaches `CP_DATABASE_URL` unchanged once the file
is read with `set -a; . ./cp.env`, whatever shell characters it holds. Unquoted, `ab$cd&ef`
lost `$cd` and ran `&`."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

DEPLOYMENT = Path(__file__).resolve().parents[3] / "docs" / "deployment.md"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def recipe() -> str:
    """The recipe's lines from `umask 077` to the line that reads the file, without the keys'
    (they only run Python) and the comments."""
    text = DEPLOYMENT.read_text(encoding="utf-8")
    start = text.index('umask 077\necho "CP_ENVIRONMENT=production" > cp.env\n')
    end = text.index("set -a; . ./cp.env; set +a\n", start)
    lines = text[start:end].splitlines()
    kept = [line for line in lines if not line.startswith("#") and "uv run" not in line]
    assert any(line.startswith('printf "CP_DATABASE_URL=') for line in kept)
    return "\n".join([*kept, "set -a; . ./cp.env; set +a", 'printf %s "$CP_DATABASE_URL"'])


@pytest.mark.parametrize(
    "password",
    ["ab$cd&ef", "semi;colon `tick` $(date) \\back", 'with "double" quotes and #hash'],
)
def test_any_password_reaches_the_url_as_typed(tmp_path: Path, password: str) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    result = subprocess.run(
        ["bash", "-c", recipe()],
        input=password + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"postgresql://botfleet:{password}@db.internal:5432/botfleet"
    assert "command not found" not in result.stderr
    assert stat.S_IMODE((tmp_path / "cp.env").stat().st_mode) == 0o600
