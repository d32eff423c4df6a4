"""A flow's `settings.strict_templates` in a live data plane: a reply with a missing value is
never sent; the contact gets the flow's error text and the operator an error naming the place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog

from botfleet.testing.runtime import running_app


def flow(*, strict: bool, hours: str = "We open at {{ data.opening }}") -> dict[str, Any]:
    return {
        "id": "strict_demo",
        "initial_state": "MENU",
        "settings": {"strict_templates": strict, "error_text": "Sorry, try again later."},
        "states": {
            "MENU": {
                "on_enter": [
                    {
                        "action": "send_interactive_buttons",
                        "body": "Menu",
                        "buttons": [{"id": "hours", "title": "Hours"}],
                    }
                ],
                "transitions": [{"on_payload": "hours", "target": "HOURS"}],
                "fallback": "MENU",
            },
            "HOURS": {
                "on_enter": [{"action": "send_text", "text": hours}],
                "next": "MENU",
            },
        },
    }


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in replies]


async def test_a_missing_value_sends_the_error_text_and_moves_nothing(tmp_path: Path) -> None:
    async with running_app(flow=flow(strict=True), state_db=tmp_path / "t.db") as chat:
        assert texts(await chat.say("c1", "hi")) == ["Menu"]
        with structlog.testing.capture_logs() as logs:
            replies = await chat.press("c1", "hours", title="Hours")
        assert texts(replies) == ["Sorry, try again later."]
        state = await chat.runtime.states.load("c1")
        assert state is not None
        assert (state.node, state.version) == ("MENU", 2)  # committed, but nothing moved
        assert [m["output"]["text"] for m in await chat.messages("c1")][-1] == (
            "Sorry, try again later."
        )
    errors = [e for e in logs if e["event"] == "template_error"]
    assert [(e["log_level"], e["where"], e["detail"]) for e in errors] == [
        ("error", "states.HOURS.on_enter[0].text", "missing value 'opening'")
    ]


async def test_without_strict_templates_the_value_renders_empty_with_a_warning(
    tmp_path: Path,
) -> None:
    async with running_app(flow=flow(strict=False), state_db=tmp_path / "t.db") as chat:
        await chat.say("c1", "hi")
        with structlog.testing.capture_logs() as logs:
            replies = await chat.press("c1", "hours", title="Hours")
    assert texts(replies) == ["We open at ", "Menu"]
    assert [e["log_level"] for e in logs if e["event"] == "template_missing_value"] == ["warning"]


# `truncate(2)` fails an assertion inside Jinja: not one of the usual template errors.
BAD_FILTER = "We open at {{ 'nine' | truncate(2) }}"


async def test_a_filter_that_raises_renders_empty_and_the_turn_goes_on(tmp_path: Path) -> None:
    hours = flow(strict=False, hours=BAD_FILTER)
    async with running_app(flow=hours, state_db=tmp_path / "t.db") as chat:
        await chat.say("c1", "hi")
        with structlog.testing.capture_logs() as logs:
            replies = await chat.press("c1", "hours", title="Hours")
        assert texts(replies) == ["Menu"]  # the text rendered empty and was not sent
        assert texts(await chat.press("c1", "hours", title="Hours")) == ["Menu"]
    failed = [e for e in logs if e["event"] == "template_failed"]
    assert [(e["log_level"], e["where"]) for e in failed] == [
        ("warning", "states.HOURS.on_enter[0].text")
    ]


async def test_a_filter_that_raises_in_strict_mode_sends_the_error_text(tmp_path: Path) -> None:
    hours = flow(strict=True, hours=BAD_FILTER)
    async with running_app(flow=hours, state_db=tmp_path / "t.db") as chat:
        await chat.say("c1", "hi")
        with structlog.testing.capture_logs() as logs:
            replies = await chat.press("c1", "hours", title="Hours")
        assert texts(replies) == ["Sorry, try again later."]
        assert texts(await chat.say("c1", "hi")) == ["Menu"]  # later messages are answered
    errors = [e for e in logs if e["event"] == "template_error"]
    assert [(e["where"], e["detail"].split(":")[0]) for e in errors] == [
        ("states.HOURS.on_enter[0].text", "AssertionError")
    ]


def flow_with_reminder() -> dict[str, Any]:
    spec = flow(strict=True)
    spec["tasks"] = {"reminder": [{"action": "send_text", "text": "See you at {{ data.time }}"}]}
    return spec


async def test_a_task_with_a_missing_value_sends_nothing_not_an_apology(tmp_path: Path) -> None:
    async with running_app(flow=flow_with_reminder(), state_db=tmp_path / "t.db") as chat:
        await chat.say("c1", "hi")
        before = len(await chat.messages("c1"))
        with structlog.testing.capture_logs() as logs:
            outcome = await chat.runtime.run_task("c1", "reminder", {}, "job-1")
        assert outcome.status == "done"
        assert len(await chat.messages("c1")) == before  # neither the reminder nor an apology
        # With the value there, the same task is sent: the silence above was the template's.
        await chat.runtime.run_task("c1", "reminder", {"time": "10:00"}, "job-2")
        assert [m["output"]["text"] for m in await chat.messages("c1")][before:] == [
            "See you at 10:00"
        ]
    errors = [e for e in logs if e["event"] == "template_error"]
    assert [(e["where"], e["detail"], e["task"]) for e in errors] == [
        ("tasks.reminder[0].text", "missing value 'time'", "reminder")
    ]
