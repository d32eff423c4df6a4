"""Several hooks of one tenant in `botfleet chat`, `test` and `validate`: each named binding
(`notification.crm`) is recorded under its name, a conversation test's `notified:` tells them
apart with `connector:`, and a name the tenant does not bind is reported on the flow's line
with the binding meant. The example of docs/connectors.md ("Several connectors of one
category") runs as documented."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import REPO, Invoke

from botfleet.domain.errors import ConfigError
from botfleet.flows.tenant_file import read_tenant_file
from botfleet.testing.conversation import ConversationResult, run_conversation_test
from botfleet.testing.sandbox import sandbox_config, unmocked_categories

DOCS = REPO / "docs" / "connectors.md"


def docs_block(marker: str) -> str:
    found = re.search(
        rf"<!-- example: {re.escape(marker)} -->\s*```[a-z]*\n(.*?)\n```",
        DOCS.read_text(encoding="utf-8"),
        re.DOTALL,
    )
    assert found, f"docs/connectors.md has no block marked {marker!r}"
    return found.group(1)


@pytest.fixture
def documented(tmp_path: Path) -> Path:
    """The documented tenant, flow and test, laid out as the test's paths expect; the test."""
    for marker, name in (
        ("named-bindings-tenant", "tenants/salon.yaml"),
        ("named-bindings-flow", "flows/callback.yaml"),
        ("named-bindings-test", "tests/callback.yaml"),
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(docs_block(marker) + "\n", encoding="utf-8")
    return tmp_path / "tests" / "callback.yaml"


def run(path: Path) -> ConversationResult:
    return asyncio.run(run_conversation_test(path))


def test_the_documented_test_tells_the_two_hooks_apart(documented: Path) -> None:
    result = run(documented)

    assert result.passed, result.message
    assert result.steps == 2


def test_a_notification_sent_to_the_other_hook_fails_naming_both(documented: Path) -> None:
    text = documented.read_text(encoding="utf-8")
    documented.write_text(
        text.replace("- connector: notification\n", "- connector: notification.crm\n", 1),
        encoding="utf-8",
    )

    result = run(documented)

    assert not result.passed
    assert "notification 1 connector: expected notification.crm, got notification" in (
        result.message
    )
    # The list of what the flow notified names the named binding.
    assert "2) notification.crm: lead_created {" in result.message
    assert "1) callback_requested {" in result.message


def test_a_test_without_connector_keys_still_passes(documented: Path) -> None:
    text = documented.read_text(encoding="utf-8")
    documented.write_text(re.sub(r"- connector: \S+\n\s+event:", "- event:", text), "utf-8")

    assert "connector:" not in documented.read_text(encoding="utf-8")
    assert run(documented).passed


def test_a_flow_run_alone_records_every_notification_binding_it_calls(
    documented: Path, write: Callable[[str, str], Path]
) -> None:
    test = write(
        "tests/alone.yaml",
        """\
        flow: ../flows/callback.yaml
        contact: {id: "c1", name: Ana}
        steps:
          - press: menu_callback
          - say: "600"
            notified:
              - {connector: notification, event: callback_requested}
              - {connector: notification.crm, event: lead_created, data_include: {phone: "600"}}
        """,
    )

    result = run(test)

    assert result.passed, result.message


def test_a_misnamed_binding_is_reported_on_the_flows_line(documented: Path, invoke: Invoke) -> None:
    flow = documented.parent.parent / "flows" / "callback.yaml"
    flow.write_text(
        flow.read_text(encoding="utf-8").replace(
            "connector: notification.crm ", "connector: notification.cmr "
        ),
        encoding="utf-8",
    )
    tenant = documented.parent.parent / "tenants" / "salon.yaml"
    line = next(
        n
        for n, text in enumerate(flow.read_text(encoding="utf-8").splitlines(), 1)
        if "notification.cmr" in text
    )

    checked = invoke("validate", tenant)
    alone = invoke("validate", flow)
    tested = run(documented)

    assert checked.exit_code == 1
    assert (
        f"flows/callback.yaml:{line} states.TELL_CRM.on_enter[0].connector: unknown connector "
        "'notification.cmr' (did you mean 'notification.crm'?): the tenant binds notification, "
        "notification.crm"
    ) in checked.output
    assert alone.exit_code == 0, alone.stdout  # a flow alone: the tenant may bind it
    assert not tested.passed
    assert "did you mean 'notification.crm'?" in tested.message


def test_the_sandbox_names_an_unbound_named_binding(documented: Path) -> None:
    tenant = read_tenant_file(documented.parent.parent / "tenants" / "salon.yaml")
    assert tenant.config is not None and tenant.flow is not None
    config = tenant.config.model_copy(
        update={"connectors": {"notification": tenant.config.connectors["notification"]}}
    )

    assert unmocked_categories(config, tenant.flow.spec) == ["notification.crm"]
    with pytest.raises(ConfigError) as raised:
        sandbox_config(config, tenant.flow.spec)

    assert raised.value.key == "connectors.notification.crm"
    assert "which the tenant does not configure" in raised.value.detail


def test_chat_prints_each_notification_under_its_binding(documented: Path, invoke: Invoke) -> None:
    tenant = documented.parent.parent / "tenants" / "salon.yaml"

    chat = invoke("chat", tenant, "--at", "2024-05-06T09:00", input="hi\n1\n600 111 222\n")

    assert chat.exit_code == 0, chat.output
    assert (
        "you> 600 111 222\n"
        '(notification: callback_requested {"contact_id": "terminal", '
        '"text": "Call terminal back on 600 111 222"})\n'
        '(notification.crm: lead_created {"contact_id": "terminal", "name": "", '
        '"phone": "600 111 222", "source": "whatsapp"})\n'
        "bot> Thanks! We will call you on 600 111 222 today.\n"
    ) in chat.stdout
