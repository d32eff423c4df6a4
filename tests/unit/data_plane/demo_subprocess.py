"""Run a script against the demo tenant in a fresh interpreter and read its last JSON line.

For checks about a process as a whole (modules imported, GC settings), which a test run's
own interpreter cannot answer: everything the tests imported before is already there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "examples" / "tenants" / "demo.yaml"


def run_demo_script(script: str, tmp_path: Path) -> Any:
    """`python -c script DEMO tmp_path` in `tmp_path`; the parsed last line of its output."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(DEMO), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
