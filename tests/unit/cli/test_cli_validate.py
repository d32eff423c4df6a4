"""`botfleet validate`: flows and tenant files, errors and warnings by file:line and path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import DEMO_FLOW, DEMO_TENANT, REPO, TINY_FLOW, Invoke

Write = Callable[[str, str], Path]


def test_the_demo_flow_and_tenants_are_valid(invoke: Invoke) -> None:
    dev_tenant = REPO / "tests" / "configs" / "dev_tenant.yaml"
    result = invoke("validate", DEMO_FLOW, DEMO_TENANT, dev_tenant)
    assert result.exit_code == 0, result.output
    assert f"{DEMO_FLOW}: ok (flow)" in result.stdout
    assert f"{DEMO_TENANT}: ok (tenant)" in result.stdout
    # The seed's dev tenant binds `mock_llm` but leaves the LLM off: its MENU never asks it.
    assert f"{dev_tenant}:12 llm.enabled: [warning] the LLM is off" in result.stdout
    # ... and its calendar has no opening hours: it offers no day.
    assert f"{dev_tenant}:10 connectors.calendar.schedule: [warning] no opening hours" in (
        result.stdout
    )
    assert "0 error(s), 2 warning(s) in 3 file(s)" in result.stdout


def test_flow_errors_name_file_line_and_path_and_exit_1(invoke: Invoke, write: Write) -> None:
    flow = write(
        "bad.yaml",
        """\
        id: bad_v1
        initial_state: MENU
        states:
          MENU:
            transitions:
              - on_payload: go
                target: MENUU
            fallback: MENU
        """,
    )
    result = invoke("validate", flow)
    assert result.exit_code == 1
    assert f"{flow}:7 states.MENU.transitions[0].target: unknown state 'MENUU'" in result.stderr
    assert "(did you mean 'MENU'?)" in result.stderr
    assert "1 error(s), 0 warning(s) in 1 file(s)" in result.stderr


def test_warnings_alone_pass(invoke: Invoke, write: Write) -> None:
    flow = write(
        "lonely.yaml",
        """\
        id: lonely_v1
        initial_state: A
        states:
          A: {fallback: A}
          B: {fallback: A}
        """,
    )
    result = invoke("validate", flow)
    assert result.exit_code == 0, result.output
    assert f"{flow}:5 states.B: [warning]" in result.stdout
    assert "0 error(s), 1 warning(s)" in result.stdout


def test_json_report_for_editors(invoke: Invoke, write: Write) -> None:
    flow = write("bad.yaml", "id: x\ninitial_state: A\nstates:\n  A: {fallback: B}\n")
    result = invoke("validate", flow, DEMO_FLOW, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert (report["errors"], report["warnings"]) == (1, 0)
    assert report["files"] == [
        {"file": str(flow), "kind": "flow", "errors": 1, "warnings": 0},
        {"file": str(DEMO_FLOW), "kind": "flow", "errors": 0, "warnings": 0},
    ]
    assert report["issues"] == [
        {
            "file": str(flow),
            "line": 4,
            "path": "states.A.fallback",
            "severity": "error",
            "message": "unknown state 'B'",
        }
    ]


def _tenant(write: Write, body: str, flow: str = TINY_FLOW) -> Path:
    write("flow.yaml", flow)
    return write("tenant.yaml", body)


def test_a_tenant_binding_of_an_unknown_type_is_located(invoke: Invoke, write: Write) -> None:
    tenant = _tenant(
        write,
        """\
        tenant_id: t1
        flow_path: flow.yaml
        connectors:
          calendar:
            type: outlook
        """,
    )
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:5 connectors.calendar.type: unknown type 'outlook'" in result.stderr


def test_a_tenant_without_the_connector_its_flow_calls(invoke: Invoke, write: Write) -> None:
    tenant = _tenant(write, "tenant_id: t1\nflow_path: flow.yaml\n")
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert (
        f"{tenant}:1 connectors.calendar: the flow (states.CHECK.on_enter[0]) calls connector "
        "'calendar', which the tenant does not configure"
    ) in result.stderr


def test_a_tenant_setting_error_points_at_its_line(invoke: Invoke, write: Write) -> None:
    tenant = _tenant(
        write,
        """\
        tenant_id: t1
        flow_path: flow.yaml
        connectors:
          calendar:
            type: mock_calendar
            schedule:
              mon: ["10:00-14:00", "9am to 5pm"]
        """,
    )
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:7 connectors.calendar.schedule.mon[1]:" in result.stderr


def test_a_tenant_key_error(invoke: Invoke, write: Write) -> None:
    tenant = _tenant(write, "tenant_id: t1\nflow_path: flow.yaml\ntimezone: Mars/Olympus\n")
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:3 timezone:" in result.stderr
    assert "unknown time zone 'Mars/Olympus'" in result.stderr


def test_every_tenant_key_error_is_reported_on_its_own_line(invoke: Invoke, write: Write) -> None:
    tenant = _tenant(
        write,
        """\
        tenant_id: t1
        flow_path: flow.yaml
        chanel: {type: webchat}
        timezone: Europe/Madird
        """,
    )
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:3 chanel: unknown key 'chanel' (did you mean 'channel'?)" in result.stderr
    assert f"{tenant}:4 timezone: unknown time zone 'Europe/Madird'" in result.stderr
    assert "Value error" not in result.stderr and "Extra inputs" not in result.stderr
    # and what the rest of the file holds, in the same report: the flow calls a calendar
    assert f"{tenant}:1 connectors.calendar: the flow (states.CHECK.on_enter[0])" in result.stderr
    assert "3 error(s)" in result.stdout + result.stderr


def test_a_bad_key_hides_neither_the_connectors_nor_the_flows_calls(
    invoke: Invoke, write: Write
) -> None:
    # Each of these used to show only once the one before it was fixed.
    flow = TINY_FLOW.replace("operation: get_available_days", "operation: get_avialable_days")
    assert flow != TINY_FLOW
    tenant = _tenant(
        write,
        """\
        tenant_id: t1
        flow_path: flow.yaml
        timezone: Europe/Madird
        connectors:
          calendar:
            type: mock_calendar
            slot_minutes: 30
            schedule: {mon: ["10:00-14:00", "13:00-15:00"]}
        """,
        flow,
    )
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:3 timezone: unknown time zone 'Europe/Madird'" in result.stderr
    assert f"{tenant}:7 connectors.calendar.slot_minutes: unknown setting" in result.stderr
    assert f"{tenant}:8 connectors.calendar.schedule: schedule.mon: windows" in result.stderr
    # The flow's own check, on the flow's line (the calendar's operations are known there).
    assert (
        "states.CHECK.on_enter[0].operation: unknown operation 'get_avialable_days' for "
        "connector 'calendar' (did you mean 'get_available_days'?)"
    ) in result.stderr
    assert "4 error(s)" in result.stdout + result.stderr


def test_a_bad_flow_key_stops_the_checks_that_need_it(invoke: Invoke, write: Write) -> None:
    tenant = _tenant(write, "tenant_id: t1\nflow_path: 7\ntimezone: Mars/Olympus\n")
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert "timezone: unknown time zone" in result.stderr
    assert "connectors.calendar" not in result.stderr  # not checked against a flow it lacks


def test_a_tenant_flow_file_that_is_missing(invoke: Invoke, write: Write) -> None:
    tenant = write("tenant.yaml", "tenant_id: t1\nflow_path: nowhere.yaml\n")
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:2 flow_path: file not found" in result.stderr


def test_a_tenant_flow_with_errors_reports_them_in_the_flow_file(
    invoke: Invoke, write: Write
) -> None:
    flow = write("flow.yaml", "id: x\ninitial_state: A\nstates:\n  A: {fallback: B}\n")
    tenant = write("tenant.yaml", "tenant_id: t1\nflow_path: flow.yaml\n")
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{flow}:4 states.A.fallback: unknown state 'B'" in result.stderr


def test_an_inline_flow_error_is_located_in_the_tenant_file(invoke: Invoke, write: Write) -> None:
    tenant = write(
        "tenant.yaml",
        """\
        tenant_id: t1
        flow:
          id: inline_v1
          initial_state: A
          states:
            A:
              fallback: B
        """,
    )
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:7 flow.states.A.fallback: unknown state 'B'" in result.stderr


def test_missing_knowledge_file_and_llm_key(
    invoke: Invoke, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    tenant = _tenant(
        write,
        """\
        tenant_id: t1
        flow_path: flow.yaml
        knowledge_path: faq.md
        connectors:
          calendar: {type: mock_calendar}
        llm:
          enabled: true
          provider: anthropic
        """,
    )
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:3 knowledge_path: file not found" in result.stderr
    assert f"{tenant}:6 llm: [warning] no API key for anthropic" in result.stdout


LLM_ON = """\
tenant_id: t1
flow_path: flow.yaml
knowledge_path: faq.md
connectors:
  calendar: {type: mock_calendar}
llm:
  enabled: true
  provider: mock_llm
"""


def test_an_enabled_llm_that_no_state_asks_is_a_warning(invoke: Invoke, write: Write) -> None:
    write("faq.md", "# FAQ\nWe open at nine.\n")
    unasked = TINY_FLOW.replace("    llm_fallback: true\n", "")
    assert unasked != TINY_FLOW
    tenant = _tenant(write, LLM_ON, flow=unasked)
    result = invoke("validate", tenant)
    assert result.exit_code == 0, result.output
    assert (
        f"{tenant}:7 llm.enabled: [warning] the LLM is on, but no state of the flow has "
        "`llm_fallback: true`"
    ) in result.stdout
    asked = _tenant(write, LLM_ON)  # TINY_FLOW's MENU falls back to it
    assert "llm.enabled" not in invoke("validate", asked).stdout


def test_a_tenant_safe_text_that_hides_the_flows_own_is_a_warning(
    invoke: Invoke, write: Write
) -> None:
    """The tenant's `llm.fallback_text` wins: a flow's own text (bilingual, say) is never sent."""
    write("faq.md", "# FAQ\nWe open at nine.\n")
    flow = TINY_FLOW.replace(
        "initial_state: MENU\n", "initial_state: MENU\nsettings: {llm_fallback_text: Sem info}\n"
    )
    both = LLM_ON + "  fallback_text: No info\n"
    tenant = _tenant(write, both, flow)
    assert (
        f"{tenant}:9 llm.fallback_text: [warning] llm.fallback_text wins over the flow's "
        "settings.llm_fallback_text, which is then never sent (in no language); leave one of "
        "them out"
    ) in invoke("validate", tenant).stdout
    assert "llm.fallback_text" not in invoke("validate", _tenant(write, LLM_ON, flow)).stdout


def test_an_unknown_channel_type(invoke: Invoke, write: Write) -> None:
    tenant = _tenant(
        write,
        """\
        tenant_id: t1
        flow_path: flow.yaml
        channel: {type: fax}
        connectors:
          calendar: {type: mock_calendar}
        """,
    )
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:3 channel.type: unknown type 'fax'" in result.stderr


def test_files_that_are_neither_broken_yaml_nor_missing(invoke: Invoke, write: Write) -> None:
    other = write("other.yaml", "name: not a flow\n")
    broken = write("broken.yaml", "id: [unclosed\n")
    missing = other.parent / "missing.yaml"
    result = invoke("validate", other, broken, missing)
    assert result.exit_code == 1
    assert f"{other}:1: neither a flow (no 'states' key) nor a tenant file" in result.stderr
    assert f"{broken}:1 id: invalid YAML: the `[` opened on this line is not closed" in (
        result.stderr
    )
    assert f"{missing}: No such file or directory" in result.stderr
    assert "3 error(s), 0 warning(s) in 3 file(s)" in result.stderr


def test_a_conversation_test_is_pointed_to_botfleet_test(invoke: Invoke, write: Write) -> None:
    case = write("booking.yaml", "tenant: tenant.yaml\nsteps:\n  - say: hi\n")
    result = invoke("validate", case)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"{case}:1: a conversation test, not a flow or tenant file: run it with "
        f"`botfleet test {case}`\n"
    )


def test_json_output_ends_with_a_newline(invoke: Invoke) -> None:
    result = invoke("validate", "--format", "json", DEMO_FLOW)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("}\n")
