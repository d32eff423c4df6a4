"""A tenant's kept port (`port.json`, written when it is deleted with its data kept) is read
back only if it is a port: a damaged or edited record gives a free one, as a missing one does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from botfleet.adapters.orchestration import LocalOrchestrator
from botfleet.ports.orchestration import DataPlaneSpec


@pytest.mark.parametrize("kept", [0, -1, 70000, 2**70, True, 8080.5, "8080", None])
async def test_a_kept_port_that_is_no_port_gives_a_free_one(tmp_path: Path, kept: object) -> None:
    fleet = LocalOrchestrator(tmp_path)
    record = fleet.tenant_dir("acme") / "port.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"port": kept, "host": "127.0.0.1"}), encoding="utf-8")
    spec = DataPlaneSpec("acme", tenant_config_path=str(tmp_path / "acme.yaml"))
    port, note = await fleet._port_to_start_on(spec, None)
    assert 0 < port <= 65535
    assert port != kept
    assert note == ""
