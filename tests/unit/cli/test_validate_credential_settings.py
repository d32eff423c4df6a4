"""`botfleet validate`: a connector setting the control plane may keep as a credential (a
webhook's `url`, a Google calendar's `service_account_info`, a CalDAV `password`), left out of
a tenant file, is a warning naming the credential and the command that stores it, as a missing
channel secret is, and as `chat` and `test` accept the file; a setting only the file can hold
stays an error. The data plane still refuses to boot without it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cli_helpers import Invoke

from botfleet.cli.validation import Finding, validate_file
from botfleet.testing.faults import free_port
from serve_process import run_to_exit, serve_command

Write = Callable[[str, str], Path]

FLOW = """\
id: cred_v1
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: invoke_connector
        connector: notification
        operation: send
        params: {event: hello}
        on_error: {text: "down", target: MENU}
      - action: invoke_connector
        connector: calendar
        operation: get_available_days
        result_key: days
        on_error: {text: "down", target: MENU}
    transitions:
      - on_payload: go
        target: MENU
    fallback: MENU
"""

TENANT = """\
tenant_id: acme
flow_path: flow.yaml
timezone: Europe/Madrid
channel: {type: webchat}
connectors:
"""

WEBHOOK_NO_URL = "  notification: {type: webhook, format: json}\n"
MOCK_CALENDAR = '  calendar: {type: mock, schedule: {mon: ["10:00-14:00"]}}\n'


def tenant_file(write: Write, *bindings: str) -> Path:
    write("flow.yaml", FLOW)
    return write("tenant.yaml", TENANT + "".join(bindings))


def findings(path: Path) -> list[Finding]:
    return [f for f in validate_file(path).findings if f.file == str(path)]


def only(found: list[Finding], path: str) -> Finding:
    [finding] = [f for f in found if f.path == path]
    return finding


def test_a_webhook_without_url_is_a_warning_naming_the_credential(
    invoke: Invoke, write: Write
) -> None:
    tenant = tenant_file(write, WEBHOOK_NO_URL, MOCK_CALENDAR)
    found = findings(tenant)
    url = only(found, "connectors.notification.url")
    assert url.severity == "warning"
    assert url.line == 6
    assert url.message.startswith("missing required setting for type 'webhook' (")
    assert "the data plane does not start without it" in url.message
    assert "store it as the credential 'url' of connector:notification" in url.message
    assert "before the tenant is served" in url.message
    assert "`botfleet cp credentials set acme connector:notification --file FILE`" in url.message
    assert [f for f in found if f.severity == "error"] == []

    result = invoke("validate", tenant)
    assert result.exit_code == 0, result.output
    assert f"{tenant}:6 connectors.notification.url: [warning] missing required" in result.stdout
    assert "0 error(s), 1 warning(s) in 2 file(s)" in result.stdout


def test_a_named_webhook_bindings_credential_is_its_own_scope(write: Write) -> None:
    tenant = tenant_file(
        write,
        "  notification: {type: webhook, url: 'https://hooks.example.com/x'}\n",
        "  notification.crm: {type: webhook}\n",
        MOCK_CALENDAR,
    )
    found = findings(tenant)
    url = only(found, "connectors.notification.crm.url")
    assert url.severity == "warning"
    assert "credential 'url' of connector:notification.crm" in url.message
    assert "`botfleet cp credentials set acme connector:notification.crm --file" in url.message
    assert [f.path for f in found] == ["connectors.notification.crm.url"]


def test_a_google_calendar_without_credentials_is_a_warning(write: Write) -> None:
    tenant = tenant_file(
        write, WEBHOOK_NO_URL, "  calendar: {type: google_calendar, calendar_id: x@example.com}\n"
    )
    found = findings(tenant)
    calendar = only(found, "connectors.calendar")
    assert calendar.severity == "warning"
    assert calendar.message.startswith("missing credentials: set credentials_path")
    assert "credential 'service_account_info' of connector:calendar" in calendar.message
    assert "`botfleet cp credentials set acme connector:calendar --file FILE`" in calendar.message
    assert {f.severity for f in found} == {"warning"}


def test_a_caldav_password_is_a_credential_but_its_url_is_not(write: Write) -> None:
    tenant = tenant_file(
        write, WEBHOOK_NO_URL, "  calendar: {type: caldav, username: salon}\n"
    )  # no url (only the file holds it), no password (a credential)
    url = only(findings(tenant), "connectors.calendar.url")
    assert (url.severity, url.message) == ("error", "missing required setting for type 'caldav'")

    tenant = tenant_file(
        write,
        WEBHOOK_NO_URL,
        "  calendar: {type: caldav, url: 'https://dav.example.com/', username: salon}\n",
    )
    password = only(findings(tenant), "connectors.calendar")
    assert password.severity == "warning"
    assert password.message.startswith("username is set but no password")
    assert "credential 'password' of connector:calendar" in password.message


def test_other_problems_of_the_binding_stay_errors(invoke: Invoke, write: Write) -> None:
    tenant = tenant_file(
        write, "  notification: {type: webhook, format: teams, timeout: 3}\n", MOCK_CALENDAR
    )
    found = findings(tenant)
    assert only(found, "connectors.notification.url").severity == "warning"
    assert only(found, "connectors.notification.format").severity == "error"
    assert only(found, "connectors.notification.timeout").severity == "error"
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert "2 error(s), 1 warning(s)" in result.stderr


def test_chat_accepts_the_file_validate_passes(invoke: Invoke, write: Write) -> None:
    tenant = tenant_file(write, WEBHOOK_NO_URL, MOCK_CALENDAR)
    assert invoke("validate", tenant).exit_code == 0
    chatted = invoke("chat", tenant, input="hi\n")
    assert chatted.exit_code == 0, chatted.output
    assert "(notification: hello" in chatted.stdout


def test_the_data_plane_still_refuses_to_boot_without_it(tmp_path: Path, write: Write) -> None:
    """What the warning says: served as it is, the file stops the data plane at boot."""
    tenant = tenant_file(write, WEBHOOK_NO_URL, MOCK_CALENDAR)
    result = run_to_exit(
        serve_command("data-plane", "--port", str(free_port()), "--tenant-config", str(tenant)),
        cwd=tmp_path,
        env={"DP_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"data plane cannot start: {tenant}: connectors.notification.url: missing required "
        "setting for type 'webhook'"
    )
    assert "Traceback" not in result.stderr
