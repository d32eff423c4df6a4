"""`botfleet cp status` and `cp fleet` print the answer's `notes` as `note:` lines on stderr (a
restart the data plane waits for, the LLM's last failure): stdout stays the answer's JSON."""

from __future__ import annotations

import json
from typing import Any

import respx
from typer.testing import CliRunner, Result

from botfleet.cli.main import app

URL = "http://cp.test"
RESTART = (
    "restart required: llm.quota_daily_questions_per_contact (changed 2026-12-07T10:00Z); the "
    "new settings apply at the data plane's next start"
)
#: The data plane's words reach the note: a provider's message may hold an escape sequence.
FAILURE = 'llm: last error 2026-12-07T10:02Z rejected: model "\x1b]0;owned\x07" not found'


def status(tenant_id: str, notes: list[str]) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "tenant_status": "active",
        "status": "ok",
        "data_plane_url": "http://dp:8002",
        "published_flow_version": 1,
        "published_knowledge_version": None,
        "checked_at": "2026-12-07T10:05:00Z",
        "errors": [],
        "notes": notes,
    }


def cp(*args: str) -> Result:
    env = {"BOTFLEET_CP_URL": URL, "BOTFLEET_API_KEY": "bf_tenant_key"}
    return CliRunner().invoke(app, ["cp", *args], env=env)


def test_status_prints_each_note_on_stderr_and_the_json_alone_on_stdout() -> None:
    with respx.mock(base_url=URL) as mock:
        mock.get("/v1/tenants/bikes/status").respond(json=status("bikes", [RESTART, FAILURE]))
        result = cp("status", "bikes")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["notes"] == [RESTART, FAILURE]
    assert result.stderr.splitlines() == [
        f"note: {RESTART}",
        'note: llm: last error 2026-12-07T10:02Z rejected: model "\\x1b]0;owned\\x07" not found',
    ]


def test_no_notes_prints_nothing_on_stderr() -> None:
    with respx.mock(base_url=URL) as mock:
        mock.get("/v1/tenants/bikes/status").respond(json=status("bikes", []))
        result = cp("status", "bikes")
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout)["status"] == "ok"


def test_fleet_prints_the_notes_of_each_tenant_named() -> None:
    tenants = [status("bikes", [RESTART]), status("salon", [])]
    with respx.mock(base_url=URL) as mock:
        mock.get("/v1/fleet").respond(
            json={"checked_at": "2026-12-07T10:05:00Z", "tenants": tenants}
        )
        result = cp("fleet")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"note: bikes: {RESTART}\n"
    assert [t["tenant_id"] for t in json.loads(result.stdout)["tenants"]] == ["bikes", "salon"]
