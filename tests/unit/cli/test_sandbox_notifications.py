"""`botfleet chat` and `botfleet test` record the notifications a flow sends to a `webhook`
instead of calling it: params are checked exactly as the webhook checks them, the answer is a
delivered webhook's, chat prints a line for each one and conversation tests check them with
`notified:`. The hand-off conversation test of docs/connectors.md runs against the documented
tenant and flow."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cli_helpers import REPO, Invoke

from botfleet.adapters.connectors.notification import payload
from botfleet.adapters.connectors.notification.recorder import NotificationRecorder
from botfleet.adapters.connectors.notification.webhook import build as build_webhook
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.domain.errors import ConfigError, ConnectorRejected
from botfleet.testing.clock import FrozenClock
from botfleet.testing.conversation import ConversationResult, run_conversation_test
from botfleet.testing.conversation_format import ConversationTestError, load_conversation_test
from botfleet.testing.runtime import MONDAY_MORNING, make_tenant_config
from botfleet.testing.sandbox import (
    _connectors,
    open_sandbox,
    sandbox_config,
    tenant_flow,
    unmocked_categories,
)

DOCS = REPO / "docs" / "connectors.md"
KEY = "salon:+34600111222:m-1/state:HANDOFF_SEND/0"
HOOK = {"type": "webhook", "url": "https://hooks.example.com/botfleet/salon", "format": "slack"}

#: A menu whose choices send a notification, one the webhook would refuse (no event), and one
#: whose `data` holds what the contact typed.
FLOW: dict[str, Any] = {
    "id": "notify_v1",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "Pick",
                    "buttons": [
                        {"id": "ask", "title": "Ask a person"},
                        {"id": "broken", "title": "Broken"},
                    ],
                }
            ],
            "transitions": [
                {"on_payload": "ask", "target": "ASK"},
                {"on_payload": "broken", "target": "BROKEN"},
            ],
            "fallback": "MENU",
        },
        "ASK": {
            "on_enter": [{"action": "send_text", "text": "What about?"}],
            "transitions": [
                {
                    "on_type": "text",
                    "set_data": {"reason": "{{ message.text }}"},
                    "target": "SEND",
                }
            ],
            "fallback": "ASK",
        },
        "SEND": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "notification",
                    "operation": "send",
                    "params": {
                        "event": "handoff_requested",
                        "contact_id": "{{ contact.id }}",
                        "reason": "{{ data.reason }}",
                        "text": "{{ contact.id }} asks: {{ data.reason }}",
                    },
                    "result_key": "sent",
                    "on_error": {"text": "Could not notify.", "target": "MENU"},
                },
                {"action": "send_text", "text": "Noted ({{ data.sent.status }})."},
            ],
            "next": "MENU",
        },
        "BROKEN": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "notification",
                    "operation": "send",
                    "params": {"contact_id": "{{ contact.id }}"},
                    "on_error": {"text": "Refused.", "target": "MENU"},
                }
            ],
            "next": "MENU",
        },
    },
}


def _run(path: Path) -> ConversationResult:
    return asyncio.run(run_conversation_test(path))


def _tenant(**binding: Any) -> str:
    return yaml.safe_dump(
        {
            "tenant_id": "salon",
            "timezone": "Europe/Madrid",
            "flow_path": "notify.yaml",
            "connectors": {"notification": {**HOOK, **binding}},
        }
    )


@pytest.fixture
def tenant(write: Callable[[str, str], Path]) -> Path:
    write("notify.yaml", yaml.safe_dump(FLOW))
    return write("tenant.yaml", _tenant())


# ---------------------------------------------------------------- the recorder


def _webhook_refusal(params: dict[str, Any], fmt: str) -> str:
    """What the real webhook says about `params`, before any request (none is made)."""
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    connector = build_webhook(
        {"url": HOOK["url"], "format": fmt},
        clock=FrozenClock(MONDAY_MORNING),
        http=HttpxProvider(client),
    )
    with pytest.raises(ConnectorRejected) as refused:
        asyncio.run(connector.call("send", params, idempotency_key=KEY))
    assert requests == []
    return str(refused.value)


@pytest.mark.parametrize("fmt", ["json", "slack"])
@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"contact_id": "c1"}, id="no-event"),
        pytest.param({"event": ""}, id="empty-event"),
        pytest.param({"event": "hand off"}, id="event-with-a-space"),
        pytest.param({"event": 7}, id="event-not-text"),
        pytest.param({"event": "e", "contact_id": {"id": 1}}, id="contact-a-mapping"),
        pytest.param({"event": "e", "contact_id": True}, id="contact-a-boolean"),
        pytest.param({"event": "e", "text": ["a"]}, id="text-a-list"),
    ],
)
def test_the_recorder_refuses_what_the_webhook_refuses_with_the_same_message(
    params: dict[str, Any], fmt: str
) -> None:
    recorder = NotificationRecorder(clock=FrozenClock(MONDAY_MORNING), format=fmt)

    with pytest.raises(ConnectorRejected) as refused:
        asyncio.run(recorder.call("send", params, idempotency_key=KEY))

    assert str(refused.value) == _webhook_refusal(params, fmt)
    assert recorder.sent == []


def test_the_recorder_answers_as_a_delivered_webhook_and_keeps_what_was_sent() -> None:
    recorder = NotificationRecorder(clock=FrozenClock(MONDAY_MORNING))
    params = {"event": "handoff_requested", "contact_id": 34600111222, "reason": "invoice",
              "items": [1, 2], "text": "Ana asks"}  # fmt: skip

    answer = asyncio.run(recorder.call("send", params, idempotency_key=KEY))

    assert answer == {
        "delivered": True,
        "status": 200,
        "id": payload.notification_id(KEY),
        "response": None,
    }
    (sent,) = recorder.sent
    assert (sent.event, sent.contact_id) == ("handoff_requested", "34600111222")
    assert sent.text == "Ana asks"
    assert sent.data == {"reason": "invoice", "items": [1, 2]}
    assert sent.body["tenant_id"] == "salon" and sent.body["id"] == answer["id"]
    assert sent.describe() == (
        'handoff_requested {"contact_id": "34600111222", "reason": "invoice", "items": [1, 2], '
        '"text": "Ana asks"}'
    )
    assert recorder.operations() == frozenset({"send"})
    with pytest.raises(Exception, match="has no operation 'post'"):
        asyncio.run(recorder.call("post", params, idempotency_key=KEY))


# ---------------------------------------------------------------- the sandbox


def test_the_sandbox_records_a_webhook_binding_and_names_no_missing_mock() -> None:
    config = make_tenant_config(FLOW, tenant_id="salon", connectors={"notification": HOOK})
    spec = tenant_flow(config).spec

    built = _connectors(sandbox_config(config, spec), FrozenClock(MONDAY_MORNING))

    recorder = built["notification"]
    assert isinstance(recorder, NotificationRecorder)
    assert recorder.format == "slack"  # the binding's, so the body is the one it would send
    assert unmocked_categories(config, spec) == []


def test_a_binding_without_url_is_fine_but_a_setting_the_data_plane_refuses_is_not() -> None:
    # The control plane may keep the url in the tenant's credentials.
    no_url = make_tenant_config(
        FLOW, connectors={"notification": {"type": "webhook", "format": "json"}}
    )
    built = _connectors(sandbox_config(no_url, tenant_flow(no_url).spec), FrozenClock())
    assert isinstance(built["notification"], NotificationRecorder)

    for binding, key in (
        ({**HOOK, "format": "teams"}, "connectors.notification.format"),
        ({**HOOK, "retries": 3}, "connectors.notification.retries"),
        ({**HOOK, "headers": {"X-Api-Key": "k"}}, "connectors.notification.headers"),
    ):
        config = make_tenant_config(FLOW, connectors={"notification": binding})
        with pytest.raises(ConfigError) as refused:
            sandbox_config(config, tenant_flow(config).spec)
        assert refused.value.key == key
    crm = make_tenant_config(FLOW, connectors={"notification": HOOK, "crm": HOOK})
    with pytest.raises(ConfigError, match="is a notification connector: bind it under"):
        sandbox_config(crm, tenant_flow(crm).spec)


def test_a_flow_without_a_tenant_file_gets_a_recorder_a_tenant_file_does_not() -> None:
    config = make_tenant_config(FLOW)  # binds no notification
    spec = tenant_flow(config).spec
    default = sandbox_config(config, spec, default_calendar=True)
    assert isinstance(_connectors(default, FrozenClock())["notification"], NotificationRecorder)
    assert unmocked_categories(config, spec, default_calendar=True) == []
    assert unmocked_categories(config, spec) == ["notification"]
    with pytest.raises(ConfigError, match="the flow calls 'notification'"):
        sandbox_config(config, spec)


def test_a_scripted_fixture_still_replaces_the_recorder() -> None:
    config = make_tenant_config(FLOW, connectors={"notification": HOOK})
    fixture = {"notification": {"operations": {"send": {"fail_always": True}}}}
    built = _connectors(sandbox_config(config, tenant_flow(config).spec, fixture), FrozenClock())
    assert not isinstance(built["notification"], NotificationRecorder)


async def test_the_sandbox_keeps_every_notification_in_order() -> None:
    config = make_tenant_config(FLOW, tenant_id="salon", connectors={"notification": HOOK})
    async with open_sandbox(sandbox_config(config, tenant_flow(config).spec)) as bot:
        await bot.say("hi")
        await bot.press("ask")
        said = await bot.say("my invoice")
        await bot.press("broken")  # refused: not recorded
        await bot.press("ask", contact="other")
        await bot.say("a refund", contact="other")

    assert getattr(said[0], "text", None) == "Noted (200)."
    assert [(n.event, n.contact_id, n.data) for n in bot.notifications] == [
        ("handoff_requested", "contact-1", {"reason": "my invoice"}),
        ("handoff_requested", "other", {"reason": "a refund"}),
    ]


@pytest.mark.parametrize(
    ("error", "kept"), [("unavailable", True), ("timeout", True), ("rejected", False)]
)
async def test_a_failing_send_of_a_webhook_with_redeliver_for_is_kept_as_live(
    error: str, kept: bool
) -> None:
    """As the data plane: a receiver down gives the flow the kept answer, a refusal does not."""
    hook = {**HOOK, "redeliver_for": "2h"}
    config = make_tenant_config(FLOW, tenant_id="salon", connectors={"notification": hook})
    fixture = {"notification": {"operations": {"send": {"fail_always": True, "error": error}}}}
    async with open_sandbox(sandbox_config(config, tenant_flow(config).spec, fixture)) as bot:
        await bot.say("hi")
        await bot.press("ask")
        said = await bot.say("my invoice")
        state = await bot.runtime.states.load(bot.contact.id)

    assert state is not None
    if kept:
        assert getattr(said[0], "text", None) == "Noted ()."  # no status: not delivered yet
        assert state.data["sent"]["queued"] is True
        assert state.data["sent"]["delivered"] is False
    else:
        assert getattr(said[0], "text", None) == "Could not notify."


async def test_without_redeliver_for_a_failing_send_takes_on_error() -> None:
    config = make_tenant_config(FLOW, tenant_id="salon", connectors={"notification": HOOK})
    fixture = {"notification": {"operations": {"send": {"fail_always": True}}}}
    async with open_sandbox(sandbox_config(config, tenant_flow(config).spec, fixture)) as bot:
        await bot.say("hi")
        await bot.press("ask")
        said = await bot.say("my invoice")

    assert getattr(said[0], "text", None) == "Could not notify."


# ---------------------------------------------------------------- conversation tests


def test_notified_checks_pass(tenant: Path, write: Callable[[str, str], Path]) -> None:
    test = write(
        "t.yaml",
        """\
        tenant: tenant.yaml
        contact: {id: "+34600111222"}
        steps:
          - say: hi
            notified: []
          - press: ask
          - say: my invoice
            expect: ["Noted (200).", {type: buttons}]
            notified:
              - event: handoff_requested
                contact_id: "+34600111222"
                text: "+34600111222 asks: my invoice"
                contains: asks
                data: {reason: my invoice}
                data_include: {reason: my invoice}
          - press: broken
            expect: ["Refused.", {type: buttons}]
            notified: []
          - press: ask
          - say: again
            notified: handoff_requested
        """,
    )
    result = _run(test)
    assert result.passed, result.message


def test_a_send_kept_by_redeliver_for_is_still_notified(write: Callable[[str, str], Path]) -> None:
    # The flow sent it (a receiver down): `notified:` lists it, kept or not (a walk-through).
    write("notify.yaml", yaml.safe_dump(FLOW))
    write("tenant.yaml", _tenant(redeliver_for="2h"))
    test = write(
        "t.yaml",
        """\
        tenant: tenant.yaml
        contact: {id: "+34600111222"}
        connectors:
          notification: {operations: {send: {fail_always: true, error: unavailable}}}
        steps:
          - say: hi
          - press: ask
          - say: my invoice
            expect: ["Noted ().", {type: buttons}]
            data: {sent.queued: true}
            notified:
              - event: handoff_requested
                data: {reason: my invoice}
        """,
    )
    result = _run(test)
    assert result.passed, result.message


def test_a_notified_check_that_fails_names_the_notification_and_lists_what_was_sent(
    tenant: Path, write: Callable[[str, str], Path]
) -> None:
    test = write(
        "t.yaml",
        """\
        tenant: tenant.yaml
        steps:
          - say: hi
          - press: ask
          - say: my invoice
            notified:
              - event: handoff
                contact_id: someone
                contains: refund
                data: {reason: my bill}
                data_include: {urgent: true}
        """,
    )
    result = _run(test)
    assert result.status == "failed"
    assert f"{test}:5: step 3 (say: 'my invoice')" in result.message
    for problem in (
        "notification 1 event: expected handoff, got handoff_requested",
        "notification 1 contact_id: expected 'someone', got 'contact-1'",
        "notification 1 text:\n    expected to contain 'refund'",
        "notification 1 data.reason: expected 'my bill' (str), got 'my invoice' (str)",
        "notification 1 data.urgent: missing (have: reason)",
        'the flow notified:\n    1) handoff_requested {"contact_id": "contact-1", '
        '"reason": "my invoice", "text": "contact-1 asks: my invoice"}',
    ):
        assert problem in result.message, result.message


def test_counting_notifications(tenant: Path, write: Callable[[str, str], Path]) -> None:
    none_expected = write(
        "none.yaml",
        "tenant: tenant.yaml\nsteps:\n  - say: hi\n  - press: ask\n  - say: x\n    notified: []\n",
    )
    result = _run(none_expected)
    assert result.status == "failed"
    assert "notified: expected 0 notification(s), the flow sent 1" in result.message
    one_expected = write(
        "one.yaml",
        "tenant: tenant.yaml\nsteps:\n  - say: hi\n    notified: [handoff_requested]\n",
    )
    result = _run(one_expected)
    assert result.status == "failed"
    assert "notified: expected 1 notification(s), the flow sent 0" in result.message
    assert "the flow notified nothing" in result.message
    extra_data = write(
        "extra.yaml",
        "tenant: tenant.yaml\nsteps:\n  - say: hi\n  - press: ask\n  - say: x\n"
        "    notified: [{data: {}}]\n",
    )
    result = _run(extra_data)
    assert "notification 1 data: not expected reason" in result.message


def test_an_unknown_key_in_notified_is_a_test_error(write: Callable[[str, str], Path]) -> None:
    test = write(
        "t.yaml",
        "flow: f.yaml\nsteps:\n  - say: hi\n    notified: [{event: x, payload: {}}]\n",
    )
    with pytest.raises(ConversationTestError) as refused:
        load_conversation_test(test)
    assert "steps[0].notified[0].payload" in str(refused.value)


def test_a_flow_test_records_notifications_without_a_fixture(
    write: Callable[[str, str], Path],
) -> None:
    write("notify.yaml", yaml.safe_dump(FLOW))
    test = write(
        "t.yaml",
        """\
        flow: notify.yaml
        steps:
          - say: hi
          - press: ask
          - say: help
            expect: ["Noted (200).", {type: buttons}]
            notified: [{event: handoff_requested, data: {reason: help}}]
        """,
    )
    result = _run(test)
    assert result.passed, result.message


def _docs_block(marker: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(
        rf"<!-- example: {re.escape(marker)} -->\s*```[a-z]*\n(.*?)\n```", text, re.DOTALL
    )
    assert found, f"docs/connectors.md has no block marked {marker!r}"
    return found.group(1)


def test_the_documented_handoff_test_passes_against_the_documented_bot(tmp_path: Path) -> None:
    for marker, name in (
        ("handoff-tenant", "tenants/salon.yaml"),
        ("handoff-flow", "flows/handoff.yaml"),
        ("handoff-test", "tests/handoff.yaml"),
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_docs_block(marker) + "\n", encoding="utf-8")

    result = _run(tmp_path / "tests" / "handoff.yaml")

    assert result.passed, result.message
    assert result.steps == 3


# ---------------------------------------------------------------- chat


def test_chat_prints_each_notification_before_what_the_bot_said(
    invoke: Invoke, tenant: Path
) -> None:
    chat = invoke("chat", tenant, "--at", "2024-05-06T09:00", input="hi\n1\nmy invoice\n2\n")

    assert chat.exit_code == 0, chat.output
    assert "has no mock" not in chat.stdout
    assert (
        "you> my invoice\n"
        '(notification: handoff_requested {"contact_id": "terminal", "reason": "my invoice", '
        '"text": "terminal asks: my invoice"})\n'
        "bot> Noted (200).\n"
    ) in chat.stdout
    # A call the webhook would refuse fails here too: the flow's on_error runs.
    after = chat.stdout.split("you> 2\n", 1)[1]
    assert "(notification:" not in after
    assert "param 'event' is missing" in after
    assert "bot> Refused." in after
    assert chat.stdout.count("(notification:") == 1


def test_chat_refuses_a_webhook_binding_the_data_plane_would_refuse(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    write("notify.yaml", yaml.safe_dump(FLOW))
    bad = write("bad.yaml", _tenant(format="teams"))

    refused = invoke("chat", bad, input="hi\n")

    assert refused.exit_code == 1
    assert f"{bad}:" in refused.stderr and "connectors.notification.format" in refused.stderr
    assert "hooks.example.com" not in refused.stderr
