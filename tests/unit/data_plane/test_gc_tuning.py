"""A started data plane freezes its boot objects and collects young objects less often."""

from __future__ import annotations

import textwrap
from pathlib import Path

from demo_subprocess import run_demo_script

from botfleet.data_plane.app import GC_YOUNG_THRESHOLD

# A subprocess: the thresholds are process-wide and would leak into other tests.
SCRIPT = textwrap.dedent(
    """
    import gc, json, sys
    from pathlib import Path
    from starlette.testclient import TestClient
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
    result = run_demo_script(SCRIPT, tmp_path)
    assert result["before"][0] == 700  # CPython's default: the data plane changed it
    assert result["after"] == [GC_YOUNG_THRESHOLD, *result["before"][1:]]
    assert result["frozen"] > 10_000
