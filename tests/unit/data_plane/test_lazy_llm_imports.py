"""The demo tenant (mock_llm) boots without importing either LLM SDK (~55 MB of RSS), nor
SQLAlchemy or aiosqlite (the control plane's database layer; ~12 MB), nor cryptography (only
a data plane with a boot-cache key seals anything; ~7 MB)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from demo_subprocess import run_demo_script

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from starlette.testclient import TestClient
    from botfleet.data_plane.app import create_app
    from botfleet.data_plane.settings import DataPlaneSettings

    data = Path(sys.argv[2])
    settings = DataPlaneSettings(
        tenant_config_path=Path(sys.argv[1]),
        data_dir=data,
        state_db_path=data / "state.db",
    )
    with TestClient(create_app(settings)) as client:
        health = client.get("/health").status_code
    print(json.dumps({
        "health": health,
        "loaded": sorted(
            m
            for m in ("anthropic", "openai", "sqlalchemy", "aiosqlite", "cryptography")
            if m in sys.modules
        ),
    }))
    """
)


def test_demo_data_plane_does_not_import_llm_sdks(tmp_path: Path) -> None:
    result = run_demo_script(SCRIPT, tmp_path)
    assert result["health"] == 200
    assert result["loaded"] == []


def test_naming_an_sdk_adapter_still_imports_it() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, botfleet.adapters.llm as llm; "
            "before = 'anthropic' in sys.modules; cls = llm.AnthropicLLM; "
            "print(before, 'anthropic' in sys.modules, cls.__name__)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "AnthropicLLM"]
