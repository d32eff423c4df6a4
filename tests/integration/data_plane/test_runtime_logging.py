"""Runtime logs name the tenant and a hash of the contact, never the raw contact id (a phone)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import structlog

from botfleet.contact_hash import hash_contact
from botfleet.domain.errors import ConnectorUnavailable, StoreError
from botfleet.flows.state import ConversationState
from botfleet.testing.runtime import bootstrap_test_runtime, text_message
from botfleet.testing.stores import InMemoryTenantStore

PHONE = "+34600123456"

#: A template with a missing value (a warning diagnostic) and a connector that fails.
FLOW = {
    "id": "diag_v1",
    "initial_state": "ASK",
    "states": {
        "ASK": {
            "on_enter": [
                {"action": "send_text", "text": "Hello {{ data.nickname }}"},
                {
                    "action": "invoke_connector",
                    "connector": "mock",
                    "operation": "lookup",
                    "params": {"who": "{{ contact.id }}"},
                    "result_key": "found",
                },
            ],
            "fallback": "ASK",
        }
    },
}


class FailingCrm:
    """Fails quoting the contact id, as real back ends do in their error messages."""

    category = "mock"

    def operations(self) -> frozenset[str]:
        return frozenset({"lookup"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        raise ConnectorUnavailable(f"no customer {params['who']} in the CRM")


def assert_no_raw_contact(logs: list[dict[str, Any]]) -> None:
    for entry in logs:
        assert PHONE not in repr(entry), entry


async def test_diagnostics_carry_tenant_and_hashed_contact_only() -> None:
    with structlog.testing.capture_logs() as logs:
        async with bootstrap_test_runtime(flow=FLOW, connectors={"mock": FailingCrm()}) as runtime:
            result = await runtime.handle(text_message(PHONE, "hi"))
    assert result.outputs  # the turn went on: the error text after the greeting
    diagnostics = [e for e in logs if e["event"] in {"missing_value", "connector_failed"}]
    missing = [e for e in logs if e.get("where", "").startswith("states.ASK.on_enter[0]")]
    failed = [e for e in logs if e["event"] == "connector_failed"]
    assert missing, logs
    assert failed, logs
    for entry in [*diagnostics, *missing, *failed]:
        assert entry["tenant"] == "test"
        assert entry["contact"] == hash_contact("test", PHONE)
    assert "no customer <contact " in failed[0]["detail"]
    assert_no_raw_contact(logs)


class BrokenStore(InMemoryTenantStore):
    async def commit_turn(self, state: ConversationState, **_: Any) -> ConversationState:
        raise StoreError(f"disk full while saving conversation {state.contact_id!r}")


async def test_a_failed_turn_logs_a_scrubbed_traceback() -> None:
    with structlog.testing.capture_logs() as logs:
        async with bootstrap_test_runtime(stores=BrokenStore()) as runtime:
            with pytest.raises(StoreError, match="disk full"):
                await runtime.handle(text_message(PHONE, "hi"))
    [failure] = [e for e in logs if e["event"] == "turn_failed"]
    assert failure["error"] == "StoreError"
    assert failure["tenant"] == "test"
    assert "disk full" in failure["traceback"]
    assert f"<contact {hash_contact('test', PHONE)}>" in failure["detail"]
    assert_no_raw_contact(logs)


async def test_a_turn_stopped_by_the_chain_limit_logs_the_states_it_entered() -> None:
    # Valid (with a warning): the cycle ends when `data.more` is false, but here it never is.
    flow = {
        "id": "cycle_v1",
        "initial_state": "B",
        "states": {
            "B": {"next": [{"condition": "data.more", "target": "C"}]},
            "C": {"next": "B"},
        },
        "global_transitions": [{"on_payload": "go", "target": "B", "set_data": {"more": True}}],
    }
    with structlog.testing.capture_logs() as logs:
        async with bootstrap_test_runtime(flow=flow) as runtime:
            await runtime.handle(text_message(PHONE, "go"))
    [entry] = [e for e in logs if e["event"] == "step_limit_exceeded"]
    assert entry["log_level"] == "error"
    assert entry["where"] == "states.B"
    assert entry["detail"] == "more than 10 states entered in one turn: " + " -> ".join(
        ["B", "C"] * 5 + ["B"]
    )
    assert entry["contact"] == hash_contact("test", PHONE)
