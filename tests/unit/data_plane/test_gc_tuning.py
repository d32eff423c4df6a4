"""A started data plane freezes its boot objects and collects young objects less often."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "examples" / "tenants" / "demo.yaml"

# A subprocess: the thresholds are process-wide and would leak into other tests.
SCRIPT = textwrap.dedent(
    """
    import gc, json, sys
    from pathlib import Path
    from fastapi.testclient import TestClient
    from botfleet.data_plane.app import create_app
    from botfleet.data_plane.settings import DataPlaneSettings

    data = Path(sys.argv[2])
    settings = DataPlaneSettings(
        tenant_config_path=Path(sys.argv[1]), data_dir=data, state_db_path=data / "state.db"
    )
    before = gc.get_threshold()
    with TestClient(create_app(settings)) as client:
        client.post("/inbound", json={"contact_id": "c1", "text": "hi"}).raise_for_status()
        print(json.dumps({
            "before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count()
        }))
    """
)


def test_the_young_generation_threshold_is_raised_once_the_app_is_up(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(DEMO), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    from botfleet.data_plane.app import GC_YOUNG_THRESHOLD

    assert result["before"][0] == 700  # CPython's default: the data plane changed it
    assert result["after"] == [GC_YOUNG_THRESHOLD, *result["before"][1:]]
    assert result["frozen"] > 10_000
