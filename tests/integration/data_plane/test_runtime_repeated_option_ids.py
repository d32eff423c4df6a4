"""A menu that reaches the runtime with an option id twice is sent with the first only, and the
runtime says where (state, output), never the ids or titles."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import structlog

from botfleet.data_plane.runtime import handle
from botfleet.data_plane.runtime.step_loop import StepOutcome
from botfleet.domain.outputs import Buttons, Option, Text
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message
from botfleet.testing.stores import InMemoryTenantStore

FLOW = {
    "id": "slots",
    "initial_state": "PICK",
    "states": {
        "PICK": {
            "on_enter": [{"action": "send_text", "text": "Hello"}],
            "fallback": "PICK",
        }
    },
}
SLOTS = Buttons(
    "When?",
    (Option("slot-7", "Mon 10:00"), Option("slot-8", "Mon 10:30"), Option("slot-7", "Tue 9:00")),
)


async def test_a_repeated_option_id_is_sent_once_and_logged_without_content(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_run_steps = handle.run_steps

    async def with_repeated_ids(*args: Any, **kwargs: Any) -> StepOutcome:
        # Flows leave repeated ids out themselves: only another producer gets here.
        outcome = await real_run_steps(*args, **kwargs)
        return replace(outcome, outputs=[*outcome.outputs, SLOTS])

    monkeypatch.setattr(handle, "run_steps", with_repeated_ids)
    sender = RecordingSender()
    async with bootstrap_test_runtime(
        flow=FLOW, stores=InMemoryTenantStore(), sender=sender
    ) as runtime:
        with structlog.testing.capture_logs() as logs:
            await runtime.handle(text_message("c1", "hi"))
    assert sender.to("c1") == [
        Text("Hello"),
        Buttons("When?", (Option("slot-7", "Mon 10:00"), Option("slot-8", "Mon 10:30"))),
    ]
    [warning] = [e for e in logs if e["event"] == "option_ids_repeated"]
    assert warning["log_level"] == "warning"
    assert (warning["state"], warning["output"], warning["kind"]) == ("PICK", 1, "buttons")
    assert warning["left_out"] == 1
    assert not any("slot-" in str(v) or "Tue" in str(v) for v in warning.values())
