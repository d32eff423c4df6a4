"""The talk-to-a-person hand-off of docs/connectors.md, end to end: the flow and the tenant's
binding are read from the docs, booted by the real `bootstrap` (catalog, boot-time flow check,
resilience layer) and the data plane's own HTTP client POSTs to a receiver on 127.0.0.1.
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
from botfleet.domain.errors import FlowValidationError
from botfleet.domain.outputs import Buttons, Output, Text
from botfleet.testing.runtime import (
    MONDAY_MORNING,
    bootstrap_test_runtime,
    choice_message,
    make_tenant_config,
    text_message,
)

DOCS = Path(__file__).parents[3] / "docs" / "connectors.md"
SECRET = "whsec-handoff-S3cr3t"
TOKEN = "tok-handoff-S3cr3t"
CONTACT = "+34600111222"
THANKS = "Thanks! Someone from the team will write to you here shortly."
SORRY = "Sorry, we could not reach the team just now. Please call us on +34 600 000 000."
#: Quick retries: the policy's waits are not what is tested here.
FAST = {"backoff_initial_s": 0, "backoff_max_s": 0, "backoff_jitter_s": 0, "timeout_s": 2}


def docs_block(marker: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(
        rf"<!-- example: {re.escape(marker)} -->\s*```[a-z]*\n(.*?)\n```", text, re.DOTALL
    )
    assert found, f"docs/connectors.md has no block marked {marker!r}"
    return found.group(1)


def documented_flow() -> dict[str, Any]:
    flow: dict[str, Any] = yaml.safe_load(docs_block("handoff-flow"))
    return flow


def documented_binding() -> dict[str, Any]:
    binding: dict[str, Any] = yaml.safe_load(docs_block("handoff-tenant"))["connectors"][
        "notification"
    ]
    return binding


def verify_signature(headers: dict[str, str], body: bytes, **kwargs: Any) -> bool:
    namespace: dict[str, Any] = {}
    exec(compile(docs_block("verify-signature"), str(DOCS), "exec"), namespace)
    wanted = {"X-Botfleet-Timestamp": headers.get("x-botfleet-timestamp", ""),
              "X-Botfleet-Signature": headers.get("x-botfleet-signature", "")}  # fmt: skip
    verified: bool = namespace["verify_botfleet_signature"](SECRET, wanted, body, **kwargs)
    return verified


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@asynccontextmanager
async def handoff_bot(
    receiver: Receiver, flow: dict[str, Any] | None = None, **binding: Any
) -> AsyncIterator[ConversationRuntime]:
    """The documented bot (tenant `salon`), its webhook pointed at `receiver`."""
    notification = {**documented_binding(), "url": receiver.url, **binding}
    config = make_tenant_config(
        flow or documented_flow(), tenant_id="salon", connectors={"notification": notification}
    )
    async with bootstrap_test_runtime(config) as runtime:
        yield runtime


def texts(outputs: tuple[Output, ...]) -> list[str]:
    return [o.text if isinstance(o, Text) else getattr(o, "body", "") for o in outputs]


async def ask_for_a_person(runtime: ConversationRuntime, reason: str) -> tuple[Output, ...]:
    menu = (await runtime.handle(text_message(CONTACT, "hi"))).outputs
    assert isinstance(menu[-1], Buttons)
    asked = (await runtime.handle(choice_message(CONTACT, "menu_person"))).outputs
    assert texts(asked) == ["Of course. In a few words, what is it about?"]
    return (await runtime.handle(text_message(CONTACT, reason))).outputs


async def state_of(runtime: ConversationRuntime) -> str:
    state = await runtime.states.load(CONTACT)
    assert state is not None
    return state.node


# ---------------------------------------------------------------- delivered


async def test_the_documented_slack_handoff_reaches_the_receiver(receiver: Receiver) -> None:
    async with handoff_bot(receiver) as runtime:  # format: slack, as documented
        outputs = await ask_for_a_person(runtime, "A question about my <invoice>")

    assert texts(outputs) == [THANKS]
    (request,) = receiver.requests
    assert request.path == "/hooks/botfleet"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.json() == {
        "text": f"{CONTACT} would like to talk to a person: A question about my &lt;invoice&gt;"
    }
    assert request.headers["x-botfleet-event"] == "handoff_requested"
    assert len(request.headers["idempotency-key"]) == 32


async def test_a_signed_json_handoff_carries_the_tenant_contact_and_data(
    receiver: Receiver,
) -> None:
    async with handoff_bot(receiver, format="json", secret=SECRET, token=TOKEN) as runtime:
        outputs = await ask_for_a_person(runtime, "A question about my invoice")
        assert await state_of(runtime) == "HANDED_OFF"
        assert (await runtime.states.load(CONTACT)).data["handoff"] == {  # type: ignore[union-attr]
            "delivered": True,
            "status": 200,
            "id": receiver.requests[0].headers["idempotency-key"],
            "response": None,  # the receiver answers "ok" as text/plain: nothing to keep
        }

    assert texts(outputs) == [THANKS]
    (request,) = receiver.requests
    body = request.json()
    assert body == {
        "id": request.headers["idempotency-key"],
        "event": "handoff_requested",
        "tenant_id": "salon",
        "contact_id": CONTACT,
        "sent_at": "2024-05-06T07:00:00Z",  # the frozen clock: 09:00 in Madrid
        "data": {"name": "", "reason": "A question about my invoice"},
        "text": f"{CONTACT} would like to talk to a person: A question about my invoice",
    }
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert verify_signature(request.headers, request.body, now=MONDAY_MORNING.timestamp())
    assert not verify_signature(
        request.headers, request.body + b" ", now=MONDAY_MORNING.timestamp()
    )


# ---------------------------------------------------------------- failures


async def test_a_503_is_retried_with_the_same_idempotency_key(receiver: Receiver) -> None:
    receiver.script = [Reply(503), Reply(200)]
    async with handoff_bot(receiver, format="json", resilience=FAST) as runtime:
        outputs = await ask_for_a_person(runtime, "Please call me")

    assert texts(outputs) == [THANKS]
    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.json()["id"] == second.json()["id"]


async def test_a_400_is_not_retried_and_the_flow_takes_on_error(receiver: Receiver) -> None:
    receiver.script = [Reply(400)]
    async with handoff_bot(receiver, resilience=FAST) as runtime:
        outputs = await ask_for_a_person(runtime, "Please call me")
        assert await state_of(runtime) == "MENU"

    assert len(receiver.requests) == 1
    assert texts(outputs) == [SORRY, "Hi! How can we help?"]


async def test_timeouts_open_the_breaker_then_nothing_is_sent(receiver: Receiver) -> None:
    receiver.script = [Reply(delay_s=30)]
    policy = {**FAST, "timeout_s": 0.3, "max_attempts": 1, "failure_threshold": 2}
    async with handoff_bot(receiver, resilience=policy) as runtime:
        registry = runtime.connectors
        assert isinstance(registry, ConnectorRegistry)
        for attempt in range(3):
            outputs = await ask_for_a_person(runtime, f"Please call me ({attempt})")
            assert texts(outputs) == [SORRY, "Hi! How can we help?"]
        assert registry.breaker_states()["notification"] is BreakerState.OPEN

    assert len(receiver.requests) == 2  # the third hand-off met the open breaker


async def test_secrets_stay_out_of_every_log_line(receiver: Receiver) -> None:
    receiver.script = [Reply(503), Reply(401), Reply(200)]
    with capture_logs() as logs:
        async with handoff_bot(
            receiver, format="json", secret=SECRET, token=TOKEN, resilience=FAST
        ) as runtime:
            await ask_for_a_person(runtime, "first")  # 503, then a 401: refused
            await ask_for_a_person(runtime, "second")  # delivered

    events = {line["event"] for line in logs}
    assert "connector_call_finished" in events
    shown = repr(logs)
    for value in (SECRET, TOKEN, "/hooks/botfleet"):
        assert value not in shown
    assert len(receiver.requests) == 3


# ---------------------------------------------------------------- boot


async def test_a_flow_calling_an_operation_the_webhook_lacks_does_not_boot(
    receiver: Receiver,
) -> None:
    flow = documented_flow()
    flow["states"]["HANDOFF_SEND"]["on_enter"][0]["operation"] = "post"

    # Refused as the flow is loaded: `notification`'s operations are known to the flow check.
    with pytest.raises(FlowValidationError) as raised:
        async with handoff_bot(receiver, flow):
            pass

    (issue,) = raised.value.issues
    assert issue.path == "states.HANDOFF_SEND.on_enter[0].operation"
    assert issue.message == "unknown operation 'post' for connector 'notification' (known: send)"
    assert receiver.requests == []


# ---------------------------------------------------------------- the team's side


async def test_the_team_answers_through_the_bot_and_hands_back(receiver: Receiver) -> None:
    async with handoff_bot(receiver, format="json") as runtime:
        await ask_for_a_person(runtime, "A question about my invoice")

        # The contact writes while the team has them: forwarded, the bot says nothing.
        quiet = await runtime.handle(text_message(CONTACT, "It is invoice 2024-117"))
        pressed = await runtime.handle(choice_message(CONTACT, "menu_hours"))  # an old button
        assert texts(quiet.outputs) == texts(pressed.outputs) == []
        assert await state_of(runtime) == "HANDED_OFF"
        forwarded = receiver.requests[-1].json()
        assert (forwarded["event"], forwarded["text"]) == (
            "contact_wrote",
            f"{CONTACT}: It is invoice 2024-117",
        )
        assert len(receiver.requests) == 2  # the pressed button was not forwarded

        # The team's reply, sent as written: a template in it is text, not evaluated.
        reply = "Hi Ana, this is Marta. It is on its way {{ tenant.name }}."
        done = await runtime.run_task(CONTACT, "team_reply", {"text": reply}, "manual:1")
        assert done.status == "done"
        sent = await runtime.outbox.since(contact_id=CONTACT)
        assert sent[-1]["output"]["text"] == reply

        await runtime.run_task(CONTACT, "team_done", {}, "manual:2")
        back = await runtime.handle(text_message(CONTACT, "thanks!"))
        assert texts(back.outputs) == ["Hi! How can we help?"]
        assert await state_of(runtime) == "MENU"


async def test_the_team_unreachable_while_handed_off_takes_the_contact_to_the_menu(
    receiver: Receiver,
) -> None:
    async with handoff_bot(receiver, format="json", resilience=FAST) as runtime:
        await ask_for_a_person(runtime, "A question")
        receiver.script = [Reply(400)]
        outputs = await runtime.handle(text_message(CONTACT, "hello?"))
        assert texts(outputs.outputs)[0] == SORRY
        assert await state_of(runtime) == "MENU"
