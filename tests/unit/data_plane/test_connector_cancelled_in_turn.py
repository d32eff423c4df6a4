"""A connector call that ends in a `CancelledError` while the turn itself is not being cancelled
(the connector awaited a future shared with another caller, whose timeout cancelled it) is a
connector failure like any other: the flow's `on_error` runs and the message is answered, now,
instead of the turn dying with it and the message waiting, unanswered, for the next start.
A real cancellation of the turn (a shutdown that cannot wait) still ends the turn: nothing is
answered and the message stays pending for the next start's recovery."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from botfleet.adapters.connectors.scripted import OperationScript, ScriptedConnector
from botfleet.domain.outputs import Output, Text
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message
from botfleet.testing.slow_connector import SLOW_LOOKUP_FLOW as FLOW


def texts(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


class SharedFutureConnector(ScriptedConnector):
    """Its first call awaits a future another caller shares (`shared`); later calls answer."""

    def __init__(self) -> None:
        super().__init__({"lookup": OperationScript(result="42")}, category="mock")
        self.shared: asyncio.Future[Any] | None = None
        self.waiting = asyncio.Event()

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        if self.shared is None:
            self.shared = asyncio.get_running_loop().create_future()
            self.waiting.set()
            return await self.shared
        return await super().call(operation, params, idempotency_key=idempotency_key)


async def test_a_stray_cancellation_of_a_connector_call_takes_the_flows_error_path() -> None:
    connector = SharedFutureConnector()
    sender = RecordingSender()
    async with bootstrap_test_runtime(
        flow=FLOW, sender=sender, connectors={"mock": connector}
    ) as runtime:
        assert await runtime.accept(text_message("c1", "one", message_id="w-1"))
        assert await runtime.accept(text_message("c1", "two", message_id="w-2"))
        await asyncio.wait_for(connector.waiting.wait(), timeout=2)
        with structlog.testing.capture_logs() as logs:
            assert connector.shared is not None
            connector.shared.cancel()  # another caller's timeout cancelled the shared future
            await asyncio.wait_for(runtime.sequencer.drain(), timeout=2)
        # "one" got the flow's error path, then "two" was answered
        assert texts(sender.to("c1")) == ["lookup failed", "answer: 42"]
        for message_id in ("w-1", "w-2"):
            entry = await runtime.journal.get(message_id)
            assert entry is not None and entry.status == "done"
        assert runtime._in_flight == {}
        assert [line["event"] for line in logs if line["log_level"] == "error"] == [
            "connector_cancelled",
            "connector_failed",  # the flow's own line for its `on_error`
        ]
        assert not [line for line in logs if line["event"] == "turn_failed"]


async def test_a_stray_cancellation_answers_a_waiting_web_chat_caller() -> None:
    connector = SharedFutureConnector()
    async with bootstrap_test_runtime(flow=FLOW, connectors={"mock": connector}) as runtime:
        turn = asyncio.create_task(runtime.handle(text_message("c1", "one", message_id="m-1")))
        await asyncio.wait_for(connector.waiting.wait(), timeout=2)
        assert connector.shared is not None
        connector.shared.cancel()
        result = await asyncio.wait_for(turn, timeout=2)
        assert texts(result.outputs) == ["lookup failed"]
        assert result.duplicate is False


class Hanging(ScriptedConnector):
    """A call that waits until it is cancelled."""

    def __init__(self) -> None:
        super().__init__({"lookup": OperationScript(result="42")}, category="mock")
        self.waiting = asyncio.Event()
        self.cancelled = False

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        self.waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def test_cancelling_the_turn_itself_still_ends_it_unanswered_and_pending() -> None:
    connector = Hanging()
    sender = RecordingSender()
    async with bootstrap_test_runtime(
        flow=FLOW, sender=sender, connectors={"mock": connector}
    ) as runtime:
        assert await runtime.accept(text_message("c1", "one", message_id="w-1"))
        await asyncio.wait_for(connector.waiting.wait(), timeout=2)
        runtime.sequencer.cancel()  # a shutdown that cannot wait any longer
        await asyncio.wait_for(runtime.sequencer.drain(), timeout=2)
        assert connector.cancelled
        assert sender.to("c1") == []  # no error path: the turn did not go on
        entry = await runtime.journal.get("w-1")
        assert entry is not None and entry.status == "pending"  # the next start runs it
