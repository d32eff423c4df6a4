"""`botfleet validate`: folders, issues listed once, and the channel binding's settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cli_helpers import Invoke

Write = Callable[[str, str], Path]

FLOW = """\
id: hello_v1
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: "Hello"
    transitions:
      - on_payload: go
        target: MENU
"""

#: The same flow, without warnings.
FLOW_OK = FLOW + "    fallback: MENU\n"

TENANT = """\
tenant_id: hello
flow_path: hello.yaml
channel: {type: webchat}
"""

TEST = """\
tenant: ../tenant.yaml
steps:
  - say: hi
"""


def test_a_folder_is_searched_for_flows_and_tenants(invoke: Invoke, write: Write) -> None:
    flow = write("bot/hello.yaml", FLOW_OK)
    tenant = write("bot/tenant.yaml", TENANT)
    write("bot/tests/hello_test.yaml", TEST)
    write("bot/notes.yml", "todo: [more tests]\n")
    folder = flow.parent
    result = invoke("validate", folder)
    assert result.exit_code == 0, result.output
    assert f"{flow}: ok (flow)" in result.stdout
    assert f"{tenant}: ok (tenant)" in result.stdout
    assert "0 error(s), 0 warning(s) in 2 file(s)" in result.stdout
    assert f"skipped {folder / 'notes.yml'}: neither a flow" in result.stderr
    assert (
        f"skipped 1 conversation test in {folder} (run them with `botfleet test {folder}`)"
        in result.stderr
    )


def test_a_folder_without_flows_or_tenants_is_an_error(invoke: Invoke, write: Write) -> None:
    test = write("tests/hello_test.yaml", TEST)
    result = invoke("validate", test.parent)
    assert result.exit_code == 1
    assert f"no flow or tenant files found in {test.parent}" in result.stderr


def test_a_broken_yaml_file_in_a_folder_is_reported_not_skipped(
    invoke: Invoke, write: Write
) -> None:
    broken = write("bot/broken.yaml", "states: [\n")
    result = invoke("validate", broken.parent)
    assert result.exit_code == 1
    assert str(broken) in result.stderr
    assert "skipped" not in result.stderr


def test_a_flow_and_its_tenant_list_the_flows_issues_once(invoke: Invoke, write: Write) -> None:
    flow = write("hello.yaml", FLOW)  # MENU has no fallback: one warning
    tenant = write("tenant.yaml", TENANT)
    result = invoke("validate", flow, tenant)
    assert result.exit_code == 0, result.output
    warning = f"{flow}:4 states.MENU.fallback: [warning] no fallback"
    assert result.stdout.count(warning) == 1
    assert f"{tenant}: tenant, its flow's issues are listed above" in result.stdout
    assert "0 error(s), 1 warning(s) in 2 file(s)" in result.stdout
    body = json.loads(invoke("validate", "--format", "json", flow, tenant).stdout)
    assert body["warnings"] == 1
    assert len(body["issues"]) == 1


def test_the_web_chat_binding_is_checked(invoke: Invoke, write: Write) -> None:
    write("hello.yaml", FLOW)
    tenant = write("tenant.yaml", TENANT.replace("{type: webchat}", "{type: webchat, titel: Hi}"))
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert (
        f"{tenant}:3 channel.titel: web chat channel: unknown key 'titel' (did you mean 'title'?)"
        in result.stderr
    )


def test_a_whatsapp_binding_is_checked_and_missing_secrets_are_warnings(
    invoke: Invoke, write: Write
) -> None:
    write("hello.yaml", FLOW)
    tenant = write(
        "tenant.yaml",
        TENANT.replace("{type: webchat}", '{type: whatsapp, phone_number_id: "+34 600"}'),
    )
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:3 channel.phone_number_id: whatsapp channel:" in result.stderr
    assert (
        f"{tenant}:3 channel.access_token: [warning] whatsapp channel: missing required key "
        "(a secret: the data plane does not start without it; put it here for a local run, "
        "or store it as the tenant's `channel` credentials in the control plane)"
    ) in result.stdout
    assert "1 error(s), 4 warning(s)" in result.stderr  # 3 secrets and MENU's fallback


def test_a_complete_telegram_binding_passes(invoke: Invoke, write: Write) -> None:
    write("hello.yaml", FLOW_OK)
    binding = (
        '{type: telegram, bot_token: "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ", '
        "webhook_secret: s3cret-value}"
    )
    tenant = write("tenant.yaml", TENANT.replace("{type: webchat}", binding))
    result = invoke("validate", tenant)
    assert result.exit_code == 0, result.output
    assert f"{tenant}: ok (tenant)" in result.stdout


def test_a_tenant_before_its_flow_lists_the_issues_once(invoke: Invoke, write: Write) -> None:
    flow = write("hello.yaml", FLOW)
    tenant = write("tenant.yaml", TENANT)
    result = invoke("validate", tenant, flow)
    assert result.stdout.count("states.MENU.fallback: [warning]") == 1
    assert f"{tenant}: tenant, its flow's issues are listed above" in result.stdout
    assert "0 error(s), 1 warning(s) in 2 file(s)" in result.stdout  # the flow once


def test_a_tenant_alone_has_its_line_and_counts_its_flow_file(invoke: Invoke, write: Write) -> None:
    """Its flow's warnings alone used to leave the tenant without a line, "in 1 file(s)"."""
    flow = write("hello.yaml", FLOW)  # one warning
    tenant = write("tenant.yaml", TENANT)
    result = invoke("validate", tenant)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{flow}:4 states.MENU.fallback: [warning] no fallback: a message no transition of "
        "'MENU' matches gets settings.error_text and stays in 'MENU'; add `fallback: MENU` to "
        "ask again",
        f"{tenant}: tenant, its flow's issues are listed above",
        "0 error(s), 1 warning(s) in 2 file(s)",
    ]
    body = json.loads(invoke("validate", "--format", "json", tenant).stdout)
    assert body["files"] == [
        {"file": str(flow), "kind": "flow", "errors": 0, "warnings": 1},
        {"file": str(tenant), "kind": "tenant", "errors": 0, "warnings": 0},
    ]
    flow.write_text(FLOW_OK, encoding="utf-8")
    result = invoke("validate", tenant)
    assert result.stdout.splitlines() == [
        f"{flow}: ok (flow)",
        f"{tenant}: ok (tenant)",
        "0 error(s), 0 warning(s) in 2 file(s)",
    ]


def test_two_tenants_of_one_flow_check_it_once(invoke: Invoke, write: Write) -> None:
    write("hello.yaml", FLOW)
    first = write("a/tenant.yaml", TENANT.replace("hello.yaml", "../hello.yaml"))
    second = write("b/tenant.yaml", TENANT.replace("hello.yaml", "../hello.yaml"))
    result = invoke("validate", first, second)
    assert result.stdout.count("states.MENU.fallback: [warning]") == 1
    assert f"{first}: tenant, its flow's issues are listed above" in result.stdout
    assert f"{second}: tenant, its flow's issues are listed above" in result.stdout
    assert "0 error(s), 1 warning(s) in 3 file(s)" in result.stdout


def test_a_folder_given_with_one_inside_it_reports_each_file_once(
    invoke: Invoke, write: Write
) -> None:
    flow = write("bot/hello.yaml", FLOW_OK)
    write("bot/tenant.yaml", TENANT)
    write("bot/tests/hello_test.yaml", TEST)
    write("bot/tests/notes.yml", "todo: [more tests]\n")
    folder = flow.parent
    result = invoke("validate", folder, folder / "tests")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("conversation test") == 1
    assert result.stderr.count("notes.yml") == 1
    assert "in 2 file(s)" in result.stdout


FOUR = """\
id: four_v1
initial_state: A
states:
  A:
    on_enter:
      - action: send_interactive_buttons
        body: Pick one
        buttons:
          - {id: a, title: One}
          - {id: b, title: Two}
          - {id: c, title: Three}
          - {id: d, title: Four}
    transitions:
      - {on_type: button, target: A}
    fallback: A
"""


def test_a_flow_alone_is_checked_for_the_channel_asked(invoke: Invoke, write: Write) -> None:
    """WhatsApp's limits by default (the strictest); Telegram shows four buttons."""
    flow = write("four.yaml", FOUR)
    strict = invoke("validate", flow)
    assert "4 buttons: WhatsApp shows at most 3" in strict.stdout
    telegram = invoke("validate", flow, "--channel", "telegram")
    assert telegram.exit_code == 0, telegram.output
    assert f"{flow}: ok (flow)" in telegram.stdout
    unknown = invoke("validate", flow, "--channel", "sms")
    assert unknown.exit_code == 2
