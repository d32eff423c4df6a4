"""The snippet of docs/channels.md that skips, in `GET /messages` polls, the replies a `POST`'s
answer showed (by their `seqs`), run under Node against the real app's answers: each reply
and the reminder are shown once, whichever of the answer and the poll comes first."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import make_tenant_config, running_app
from botfleet.testing.scheduling import ManualScheduler

DOCS = Path(__file__).parents[3] / "docs" / "channels.md"
NOW = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
FLOW: dict[str, Any] = {
    "id": "shop",
    "initial_state": "MENU",
    "tasks": {"remind": [{"action": "send_text", "text": "Reminder: your order ships today"}]},
    "states": {
        "MENU": {
            "on_enter": [
                {"action": "send_text", "text": "On its way"},
                {"action": "schedule_task", "task": "remind", "delay": "1h"},
                {
                    "action": "send_interactive_buttons",
                    "body": "Anything else?",
                    "buttons": [{"id": "no", "title": "No"}],
                },
            ],
            "fallback": "MENU",
        }
    },
}

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


def documented_snippet() -> str:
    found = re.search(r"<!-- skip-by-seq-example -->\n```js\n(.*?)\n```", DOCS.read_text(), re.S)
    assert found, "docs/channels.md lost its skip-by-seq example"
    return found.group(1)


def run_snippet(steps: list[tuple[str, Any]]) -> list[Any]:
    """What `show` was called with, calling `showAnswer` / `showPage` with each step's data."""
    calls = "\n".join(f"{name}({json.dumps(data)});" for name, data in steps)
    script = (
        "const seen = [];\nfunction show(output) { seen.push(output); }\n"
        f"{documented_snippet()}\n{calls}\nprocess.stdout.write(JSON.stringify(seen));"
    )
    done = subprocess.run(
        ["node", "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    shown: list[Any] = json.loads(done.stdout)
    return shown


@pytest.mark.parametrize("poll_first", [False, True])
async def test_each_message_is_shown_once_by_answer_and_polls(poll_first: bool) -> None:
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="test")
    config = make_tenant_config(FLOW, channel={"type": "webchat"})
    async with running_app(config, clock=clock, scheduler=scheduler) as chat:
        answer = await chat.post({"contact_id": "web-1", "text": "track", "message_id": "m1"})
        await scheduler.advance(hours=2)
        response = await chat.http.get("/messages", params={"contact_id": "web-1"})
        page = response.json()
    replies = answer["replies"]
    assert len(replies) == 2 and len(page["messages"]) == 3  # the reminder came after
    steps = [("showAnswer", answer), ("showPage", page)]
    shown = run_snippet(steps[::-1] if poll_first else steps)
    # Five messages reach the page (two replies twice), three are shown, in the outbox's order.
    assert shown == [m["output"] for m in page["messages"]]
    assert shown[:2] == replies
