"""`botfleet serve data-plane --tenant-config` with an invalid flow: the flow's errors as
`botfleet validate` prints them (file:line path: message) and exit status 2, not a traceback
from inside uvicorn's lifespan."""

from __future__ import annotations

from pathlib import Path

from botfleet.testing.faults import free_port
from serve_process import run_to_exit, serve_command, tenant_files

FLOW = """\
id: bad_v1
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: hi
    transitions:
      - on_payload: x
        target: NOWHERE
    fallback: MENU
"""
TENANT = """\
tenant_id: badflow
name: Bad flow
timezone: Europe/Madrid
flow_path: flow.yaml
channel:
  type: webchat
"""


def test_an_invalid_flow_prints_its_errors_and_exits_2(tmp_path: Path) -> None:
    tenant = tenant_files(tmp_path, TENANT, FLOW)
    result = run_to_exit(
        serve_command("data-plane", "--port", str(free_port()), "--tenant-config", str(tenant)),
        cwd=tmp_path,
        env={"DP_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("data plane cannot start:")
    flow_file = tmp_path / "flow.yaml"
    assert f"{flow_file}:10 states.MENU.transitions[0].target: unknown state 'NOWHERE'" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr + result.stdout
