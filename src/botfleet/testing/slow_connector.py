"""A connector for tests of slow turns: its `lookup` answers "42" once the test opens `gate`
(open from the start unless closed), and `SLOW_LOOKUP_FLOW` calls it on every message and
replies `answer: <result>`. What a turn does while the call waits (a typing indicator, a
cancellation) is then in the test's hands."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from botfleet.adapters.connectors.scripted import OperationScript, ScriptedConnector

#: Every message runs `mock.lookup` and replies with its answer ("lookup failed" on a failure).
SLOW_LOOKUP_FLOW: dict[str, Any] = {
    "id": "slow_lookup_v1",
    "initial_state": "ASK",
    "states": {
        "ASK": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "mock",
                    "operation": "lookup",
                    "params": {"q": "{{ message.text }}"},
                    "result_key": "answer",
                    "on_error": {"text": "lookup failed"},
                },
                {"action": "send_text", "text": "answer: {{ data.answer }}"},
            ],
            "fallback": "ASK",
        }
    },
}


class GatedConnector(ScriptedConnector):
    """The `mock` binding of `SLOW_LOOKUP_FLOW`; `waiting` is set once a call is made."""

    def __init__(self, *, open_: bool = True) -> None:
        super().__init__({"lookup": OperationScript(result="42")}, category="mock")
        self.gate = asyncio.Event()
        if open_:
            self.gate.set()
        self.waiting = asyncio.Event()

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        self.waiting.set()
        await self.gate.wait()
        return await super().call(operation, params, idempotency_key=idempotency_key)
