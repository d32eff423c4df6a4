"""`botfleet serve data-plane` with a local tenant YAML it cannot start with: whatever the
problem (a `flow_path` naming no file, a flow with errors, a binding the data plane refuses
while it builds the runtime, the LLM settings, a missing knowledge file), one message on
stderr, `data plane cannot start: <file>: <key>: <what>`, and exit status 2, as for invalid
settings. Never a traceback (it used to be a FileNotFoundError with status 1, or a traceback
inside a JSON line and status 3)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from botfleet.testing.faults import free_port
from serve_process import run_to_exit, serve_command, tenant_files

FLOW = """\
id: f_v1
initial_state: A
states:
  A:
    on_enter:
      - action: invoke_connector
        connector: calendar
        operation: get_available_days
        on_error: A
    fallback: A
"""
CALENDAR = {"type": "mock_calendar", "schedule": {"mon": ["10:00-14:00"]}}


def serve(
    tmp_path: Path, tenant: dict[str, Any], flow: str = FLOW
) -> subprocess.CompletedProcess[str]:
    path = tenant_files(tmp_path, {"tenant_id": "salon", "flow_path": "flow.yaml", **tenant}, flow)
    return run_to_exit(
        serve_command("data-plane", "--port", str(free_port()), "--tenant-config", str(path)),
        cwd=tmp_path,
        env={"DP_DATA_DIR": str(tmp_path / "data")},
    )


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one message on stderr, after checking the exit status and that no traceback was
    printed or logged."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("data plane cannot start: ")
    return result.stderr.removeprefix("data plane cannot start: ").rstrip("\n")


def test_a_flow_path_naming_no_file(tmp_path: Path) -> None:
    result = serve(tmp_path, {"flow_path": "nope.yaml", "connectors": {"calendar": CALENDAR}})

    tenant = tmp_path / "tenant.yaml"
    assert refused(result) == f"{tenant}: flow_path: file not found: {tmp_path / 'nope.yaml'}"
    assert "FileNotFoundError" not in result.stderr


def test_a_flow_with_errors_lists_them_by_line(tmp_path: Path) -> None:
    broken = FLOW.replace("fallback: A", "fallback: NOWHERE")
    result = serve(tmp_path, {"connectors": {"calendar": CALENDAR}}, flow=broken)

    message = refused(result)
    assert message.startswith("1 error(s) in flow:\n")
    assert f"{tmp_path / 'flow.yaml'}:10 states.A.fallback: unknown state 'NOWHERE'" in message


@pytest.mark.parametrize(
    ("connectors", "expected"),
    [
        (
            {"calendar": {"type": "outlook"}},
            "connectors.calendar.type: unknown type 'outlook' "
            "(known: caldav, calendar_pool, google_calendar, mock, mock_calendar)",
        ),
        (
            {"calendar": {**CALENDAR, "resilience": {"max_attempts": 0}}},
            "connectors.calendar.resilience.max_attempts: input should be greater than or "
            "equal to 1",
        ),
        (
            {
                "calendar": CALENDAR,
                "calendar.caldav": {
                    "type": "caldav",
                    "url": "https://dav.example.com/",
                    "username": "salon",
                },
            },
            "connectors.calendar.caldav: username is set but no password: store the calendar's "
            "password in the tenant's credentials (scope connector:calendar.caldav, name "
            "'password')",
        ),
        (
            {"notification": {"type": "mock"}},
            "connectors.calendar: the flow (states.A.on_enter[0]) calls connector 'calendar', "
            "which the tenant does not configure",
        ),
    ],
)
def test_a_binding_refused_while_the_runtime_is_built(
    tmp_path: Path, connectors: dict[str, Any], expected: str
) -> None:
    result = serve(tmp_path, {"connectors": connectors})

    message = refused(result)
    assert message.startswith(f"{tmp_path / 'tenant.yaml'}: {expected}")
    # The JSON log says it in one line too (uvicorn's), not as a traceback.
    events = [json.loads(line)["event"] for line in result.stdout.splitlines() if line]
    assert message.splitlines()[0] in events


def test_an_unknown_llm_provider(tmp_path: Path) -> None:
    result = serve(
        tmp_path, {"connectors": {"calendar": CALENDAR}, "llm": {"enabled": True, "provider": "x"}}
    )

    assert refused(result).startswith(f"{tmp_path / 'tenant.yaml'}: llm.provider: unknown type 'x'")


def test_a_knowledge_path_naming_no_file(tmp_path: Path) -> None:
    result = serve(
        tmp_path, {"connectors": {"calendar": CALENDAR}, "knowledge_path": "knowledge.md"}
    )

    tenant = tmp_path / "tenant.yaml"
    expected = f"{tenant}: knowledge_path: file not found: {tmp_path / 'knowledge.md'}"
    assert refused(result) == expected
