"""The example tenants under `examples/` are valid, and the dental clinic's tests pass in full.

`examples/dental_clinic/` is the worked example of docs/authoring.md ("A complete example"):
a flow, a tenant, a knowledge file and conversation tests. These tests keep it working as the
platform changes, as a newcomer would run it.
"""

from __future__ import annotations

import pytest
from cli_helpers import REPO, Invoke

EXAMPLES = REPO / "examples"
CLINIC = EXAMPLES / "dental_clinic"


def test_every_example_flow_and_tenant_is_valid_without_warnings(invoke: Invoke) -> None:
    result = invoke("validate", EXAMPLES)
    assert result.exit_code == 0, result.output
    assert f"{CLINIC / 'dental_clinic.yaml'}: ok (flow)" in result.stdout
    assert f"{CLINIC / 'tenant.yaml'}: ok (tenant)" in result.stdout
    assert f"{CLINIC / 'tests' / 'tenant_whatsapp_too.yaml'}: ok (tenant)" in result.stdout
    assert f"{EXAMPLES / 'tenants' / 'demo.yaml'}: ok (tenant)" in result.stdout
    assert "0 error(s), 0 warning(s)" in result.stdout


@pytest.mark.parametrize("command", ["validate", "graph"])
def test_the_clinic_tenant_loads(invoke: Invoke, command: str) -> None:
    result = invoke(command, CLINIC / "tenant.yaml")
    assert result.exit_code == 0, result.output


def test_the_clinic_conversation_tests_pass_and_cover_the_whole_flow(invoke: Invoke) -> None:
    result = invoke("test", CLINIC / "tests", "--min-coverage", "100")
    assert result.exit_code == 0, result.output
    assert " 0 failed, 0 error(s)" in result.stdout
    # The language a contact chose outlasts a session (`session_keeps: [lang]`).
    assert "PASS  the language chosen outlasts a session" in result.stdout
    # "cancelar", the word the reminder gives, cancels rather than showing the menu.
    assert 'PASS  typing "cancelar" after a reminder cancels the appointment reminded' in (
        result.stdout
    )
    # A WhatsApp contact of a tenant with WhatsApp in `more_channels` (`whatsapp:<number>`).
    assert "PASS  a WhatsApp contact on a tenant with WhatsApp among more_channels" in result.stdout
    assert "states        37/37  100.0%" in result.stdout
    assert "100.0%" in result.stdout.splitlines()[-1]
