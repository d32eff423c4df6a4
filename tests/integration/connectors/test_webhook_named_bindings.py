"""Two hooks of one tenant, end to end: the documented call-back flow and tenant of
docs/connectors.md ("Several connectors of one category") booted by the real `bootstrap`, the
default `notification` binding and the named `notification.crm` each pointed at a receiver on
127.0.0.1. Each gets its own requests, policy, circuit breaker and log lines; a flow calling a
name the tenant does not bind stops the boot with the binding meant.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from structlog.testing import capture_logs
from webhook_receiver import Receiver, Reply, running_receiver

from botfleet.data_plane.resilience import BreakerState
from botfleet.data_plane.runtime.connectors import ConnectorRegistry
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.errors import ConfigError
from botfleet.domain.outputs import Output, Text
from botfleet.testing.runtime import (
    bootstrap_test_runtime,
    choice_message,
    make_tenant_config,
    text_message,
)

DOCS = Path(__file__).parents[3] / "docs" / "connectors.md"
CONTACT = "+34600111222"
PHONE = "600 111 222"
THANKS = f"Thanks! We will call you on {PHONE} today."
#: No waits between attempts: the policy's timing is not what is tested here.
FAST = {"backoff_initial_s": 0, "backoff_max_s": 0, "backoff_jitter_s": 0, "timeout_s": 2}


def docs_block(marker: str) -> dict[str, Any]:
    found = re.search(
        rf"<!-- example: {re.escape(marker)} -->\s*```[a-z]*\n(.*?)\n```",
        DOCS.read_text(encoding="utf-8"),
        re.DOTALL,
    )
    assert found, f"docs/connectors.md has no block marked {marker!r}"
    loaded: dict[str, Any] = yaml.safe_load(found.group(1))
    return loaded


@pytest.fixture
def slack() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def crm() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@asynccontextmanager
async def callback_bot(
    slack: Receiver, crm: Receiver, flow: dict[str, Any] | None = None, **crm_settings: Any
) -> AsyncIterator[ConversationRuntime]:
    """The documented tenant, its two hooks pointed at the receivers."""
    connectors = docs_block("named-bindings-tenant")["connectors"]
    connectors["notification"]["url"] = slack.url
    connectors["notification.crm"].update(url=crm.url, **crm_settings)
    config = make_tenant_config(
        flow or docs_block("named-bindings-flow"), tenant_id="salon", connectors=connectors
    )
    async with bootstrap_test_runtime(config) as runtime:
        yield runtime


def texts(outputs: tuple[Output, ...]) -> list[str]:
    return [o.text if isinstance(o, Text) else getattr(o, "body", "") for o in outputs]


async def ask_for_a_call(runtime: ConversationRuntime) -> tuple[Output, ...]:
    await runtime.handle(text_message(CONTACT, "hi"))
    await runtime.handle(choice_message(CONTACT, "menu_callback"))
    return (await runtime.handle(text_message(CONTACT, PHONE))).outputs


async def test_each_hook_receives_its_own_notification(slack: Receiver, crm: Receiver) -> None:
    with capture_logs() as logs:
        async with callback_bot(slack, crm) as runtime:
            outputs = await ask_for_a_call(runtime)
            state = await runtime.states.load(CONTACT)

    assert texts(outputs) == [THANKS]
    assert state is not None and state.node == "DONE"
    (to_slack,) = slack.requests
    assert to_slack.json() == {"text": f"Call {CONTACT} back on {PHONE}"}
    assert to_slack.headers["x-botfleet-event"] == "callback_requested"
    assert "x-botfleet-signature" not in to_slack.headers
    (to_crm,) = crm.requests
    body = to_crm.json()
    assert (body["event"], body["contact_id"]) == ("lead_created", CONTACT)
    assert body["data"] == {"name": "", "phone": PHONE, "source": "whatsapp"}
    assert to_crm.headers["x-botfleet-signature"].startswith("v1=")  # the CRM's own secret
    assert state.data["lead"] == {
        "delivered": True,
        "status": 200,
        "id": body["id"],
        "response": None,
    }
    finished = [e for e in logs if e["event"] == "connector_call_finished"]
    assert [e["connector"] for e in finished] == ["notification", "notification.crm"]


async def test_a_crm_that_refuses_changes_nothing_for_the_front_desk(
    slack: Receiver, crm: Receiver
) -> None:
    crm.script = [Reply(503)]
    policy = {**FAST, "max_attempts": 1, "failure_threshold": 1}
    async with callback_bot(slack, crm, resilience=policy) as runtime:
        registry = runtime.connectors
        assert isinstance(registry, ConnectorRegistry)
        first = await ask_for_a_call(runtime)
        breakers = registry.breaker_states()
        second = await ask_for_a_call(runtime)

    assert texts(first) == texts(second) == [THANKS]  # on_error: DONE, nothing said
    assert breakers == {"notification": BreakerState.CLOSED, "notification.crm": BreakerState.OPEN}
    assert len(slack.requests) == 2  # the front desk heard of both
    assert len(crm.requests) == 1  # the second met the CRM's open breaker


async def test_a_flow_calling_an_unbound_name_does_not_boot(slack: Receiver, crm: Receiver) -> None:
    flow = docs_block("named-bindings-flow")
    flow["states"]["TELL_CRM"]["on_enter"][0]["connector"] = "notification.cmr"

    with pytest.raises(ConfigError) as raised:
        async with callback_bot(slack, crm, flow=flow):
            pass

    assert raised.value.key == "connectors.notification.cmr"
    assert "(did you mean 'notification.crm'?)" in raised.value.detail
    assert slack.requests == crm.requests == []
