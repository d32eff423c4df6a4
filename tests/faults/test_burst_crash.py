"""SIGKILL in the middle of a burst: many contacts writing at once, some booking. After the
restart (and the provider redelivering what it never got a 2xx for), every message is answered
exactly once, in each contact's order, and no booking is made twice.

The server is `tests/e2e/crash_server.py` (the demo's in-memory calendar made durable, with a
slow operation to kill the process in): every booking sleeps after the calendar recorded it, so
the kill lands between the booking and the commit of its turn, the hardest place.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from botfleet.testing.faults import ServerProcess, free_port, start_process

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "tests" / "e2e" / "crash_server.py"
CONTACTS = 40
BOOKERS = 12  # contacts 0..11 book; each its own slot
FLOW: dict[str, Any] = {
    "id": "burst_v1",
    "initial_state": "CHAT",
    "states": {
        "CHAT": {
            "on_enter": [{"action": "send_text", "text": "echo {{ message.text }}"}],
            "transitions": [
                {"on_payload_prefix": "book_", "extract_suffix_as": "slot", "target": "BOOK"}
            ],
            "fallback": "CHAT",
        },
        "BOOK": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "calendar",
                    "operation": "book_appointment",
                    "params": {
                        "slot": "{{ data.slot }}",
                        "contact_id": "{{ contact.id }}",
                        "service_key": "haircut",
                        "duration_min": 30,
                    },
                    "result_key": "booking",
                    "on_error": {"text": "booking failed", "target": "CHAT"},
                },
                {
                    "action": "send_text",
                    "text": "booked {{ data.slot }}: {{ data.booking.success }}",
                },
            ],
            "transitions": [
                {"on_payload_prefix": "book_", "extract_suffix_as": "slot", "target": "BOOK"}
            ],
            "fallback": "CHAT",
        },
    },
}
# Monday 6 and Tuesday 7 May 2024 are open 10:00-14:00 (the frozen clock: Monday 09:00).
SLOTS = [f"2024-05-0{6 + i // 8}_{10 + (i % 8) // 2:02d}{30 * (i % 2):02d}" for i in range(BOOKERS)]


@dataclass(frozen=True)
class Message:
    contact: str
    message_id: str
    body: dict[str, Any]
    reply: str


def burst() -> dict[str, list[Message]]:
    """Three messages per contact; a booker's second message books its slot."""
    plan: dict[str, list[Message]] = {}
    for c in range(CONTACTS):
        contact = f"+3460000{c:04d}"
        messages = []
        for n in (1, 2, 3):
            message_id = f"burst-{c}-{n}"
            if n == 2 and c < BOOKERS:
                slot = SLOTS[c]
                body = {"type": "button_reply", "payload": f"book_{slot}"}
                reply = f"booked {slot}: True"
            else:
                body = {"text": f"{contact} says {n} 👋"}
                reply = f"echo {contact} says {n} 👋"
            body.update(contact_id=contact, message_id=message_id)
            messages.append(Message(contact, message_id, body, reply))
        plan[contact] = messages
    return plan


@dataclass
class Deliveries:
    """What the provider (the test) knows: the messages that got a 202."""

    acknowledged: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send_in_order(self, url: str, messages: list[Message], stop: threading.Event) -> None:
        """One contact's messages, each after the previous one's 202 (as a provider keeps a
        conversation's order); stops at the first failure, as the process is gone."""
        with httpx.Client(base_url=url, timeout=10.0) as http:
            for message in messages:
                if stop.is_set():
                    return
                try:
                    response = http.post("/inbound", json=message.body, params={"wait": "false"})
                except httpx.TransportError:
                    return
                if response.status_code != 202:
                    return
                with self.lock:
                    self.acknowledged.add(message.message_id)


class Servers:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.db = tmp_path / "state.db"
        self.bookings = tmp_path / "bookings.jsonl"
        self.tenant = tmp_path / "tenant.yaml"
        demo = yaml.safe_load((REPO / "examples" / "tenants" / "demo.yaml").read_text())
        config = {
            "tenant_id": "burst",
            "channel": {"type": "webchat"},
            "connectors": {"calendar": demo["connectors"]["calendar"]},
            "flow": FLOW,
        }
        self.tenant.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        self.started: list[ServerProcess] = []

    def start(self, run: int, slow: str | None = None) -> ServerProcess:
        port = free_port()
        command = [sys.executable, str(SERVER), "--tenant", str(self.tenant), "--db", str(self.db)]
        command += ["--port", str(port), "--bookings", str(self.bookings)]
        command += ["--slow", slow] if slow else []
        server = start_process(
            command, url=f"http://127.0.0.1:{port}", log=self.tmp / f"run{run}.log"
        )
        self.started.append(server)
        return server


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    made = Servers(tmp_path)
    try:
        yield made
    finally:
        for server in made.started:
            server.kill()


def journal(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT message_id, status FROM journal").fetchall())


def wait_until_processed(server: ServerProcess, db: Path, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        statuses = journal(db)
        if len(statuses) >= count and all(s != "pending" for s in statuses.values()):
            return
        if time.monotonic() > deadline or not server.alive:
            raise AssertionError(f"still pending: {statuses}\n{server.output()}")
        time.sleep(0.05)


def test_a_burst_killed_midway_answers_every_message_once_and_books_once(
    servers: Servers,
) -> None:
    plan = burst()
    first = servers.start(1, slow="book_appointment:after:120")
    deliveries = Deliveries()
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for messages in plan.values():
            pool.submit(deliveries.send_in_order, first.url, messages, stop)
        # Kill as soon as a booking is recorded at the calendar and its turn not committed,
        # while the burst is still being delivered.
        first.wait_for_line("sleeping after book_appointment", timeout_s=30)
        first.kill()
        stop.set()
    acknowledged_before = set(deliveries.acknowledged)
    before = journal(servers.db)
    assert acknowledged_before <= set(before)  # every 202 was journaled first
    assert "pending" in before.values()  # the kill left work undone
    booked_before = [json.loads(line) for line in servers.bookings.read_text().splitlines()]
    assert booked_before  # and at least one booking made but not committed

    second = servers.start(2)
    # The provider redelivers everything it has no 2xx for, in each contact's order.
    with ThreadPoolExecutor(max_workers=16) as pool:
        for messages in plan.values():
            missing = [m for m in messages if m.message_id not in acknowledged_before]
            pool.submit(deliveries.send_in_order, second.url, missing, threading.Event())
    total = CONTACTS * 3
    assert len(deliveries.acknowledged) == total
    wait_until_processed(second, servers.db, total, timeout_s=60)

    statuses = journal(servers.db)
    assert set(statuses) == {m.message_id for ms in plan.values() for m in ms}
    assert set(statuses.values()) == {"done"}
    for contact, messages in plan.items():
        rows = second.http.get("/messages", params={"contact_id": contact, "limit": 500})
        texts = [r["output"]["text"] for r in rows.json()["messages"]]
        # exactly once each, in the order sent: nothing lost, nothing replayed
        assert texts == [m.reply for m in messages], contact
    bookings = [json.loads(line) for line in servers.bookings.read_text().splitlines()]
    assert sorted(b["params"]["slot"] for b in bookings) == sorted(SLOTS)
    assert len({b["key"] for b in bookings}) == BOOKERS
