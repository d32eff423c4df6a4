"""The embeddable web chat widget, as served, behaves right on a business's page (under node)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.domain.messages import InboundMessage
from botfleet.ports.channels import TurnResult
from botfleet.web import JsonApi

HARNESS = Path(__file__).with_name("widget_harness.js")
TITLE = 'Peluquería "Ana" & <Co>'


class NoTurns:
    async def handle(self, message: InboundMessage) -> TurnResult:
        raise AssertionError("the widget test sends no messages")

    async def accept(self, message: InboundMessage) -> bool:
        raise AssertionError("the widget test sends no messages")


class Clock:
    def now(self) -> datetime:
        return datetime(2024, 5, 6, tzinfo=UTC)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_one_script_tag_adds_a_bubble_that_opens_the_chat(tmp_path: Path) -> None:
    app = JsonApi(
        build_routes(NoTurns(), InMemoryOutbox(), title=TITLE, clock=Clock()), title=TITLE
    )
    with TestClient(app) as client:
        response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    script = tmp_path / "widget.js"
    script.write_text(response.text, encoding="utf-8")
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, str(HARNESS), str(script), TITLE],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "widget ok"
