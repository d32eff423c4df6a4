"""A data plane process killed (SIGKILL) after acknowledging a message processes it on restart,
once: its reply appears exactly once in `GET /messages` and nothing is booked twice."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL"),
]

SERVER = Path(__file__).with_name("crash_server.py")
CONTACT = "+34600111222"
BOOKED = "✅ Booked: Haircut on Mon 6 May at 10:00. See you then!"
START_TIMEOUT_S = 30.0
MENU = "Hi! Welcome to Bella Hair Studio. What would you like to do?"
WALK = [
    MENU,
    "Which service would you like?",
    "Which day works for you for a haircut?",
    "What time on Mon 6 May?",
    "Haircut on Mon 6 May at 10:00 (18 €). Shall I book it?",
]

# Not imported from conftest: which `conftest` module that name means depends on the run.
DEMO_TENANT = Path(__file__).resolve().parents[2] / "examples" / "tenants" / "demo.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class DataPlane:
    """One run of `crash_server.py` on a port, with its output in a log file."""

    process: subprocess.Popen[bytes]
    http: httpx.Client
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def post(self, body: dict[str, Any], *, wait: bool = True) -> httpx.Response:
        params = None if wait else {"wait": "false"}
        return self.http.post("/inbound", json=body, params=params)

    def say(self, payload_or_text: str, *, press: bool = False) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"contact_id": CONTACT}
        if press:
            body.update(type="button_reply", payload=payload_or_text)
        else:
            body["text"] = payload_or_text
        response = self.post(body)
        assert response.status_code == 200, response.text
        return list(response.json()["replies"])

    def messages(self) -> list[dict[str, Any]]:
        response = self.http.get("/messages", params={"contact_id": CONTACT, "limit": 500})
        response.raise_for_status()
        return list(response.json()["messages"])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.http.close()


class Launcher:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.db = tmp_path / "state.db"
        self.bookings = tmp_path / "bookings.jsonl"
        self.running: list[DataPlane] = []
        self.runs = 0

    def start(self, slow: str | None = None) -> DataPlane:
        port = free_port()
        self.runs += 1
        log = self.tmp / f"run{self.runs}.log"
        command = [
            sys.executable,
            str(SERVER),
            *("--tenant", str(DEMO_TENANT), "--db", str(self.db), "--port", str(port)),
            *("--bookings", str(self.bookings)),
            *(("--slow", slow) if slow else ()),
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        plane = DataPlane(process, httpx.Client(base_url=f"http://127.0.0.1:{port}"), log)
        self.running.append(plane)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"data plane exited with {process.returncode}:\n{plane.output()}")
            try:
                if plane.http.get("/health", timeout=1).status_code == 200:
                    return plane
            except httpx.TransportError:
                time.sleep(0.05)
        pytest.fail(f"data plane did not start in {START_TIMEOUT_S}s:\n{plane.output()}")

    def stop_all(self) -> None:
        for plane in self.running:
            if plane.process.poll() is None:
                plane.kill()


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.stop_all()


def walk_to_confirmation(plane: DataPlane) -> None:
    plane.say("hi")
    plane.say("menu_book", press=True)
    plane.say("1")  # Haircut
    plane.say("1")  # Mon 6 May
    confirm = plane.say("1")  # 10:00
    assert confirm[0]["text"] == "Haircut on Mon 6 May at 10:00 (18 €). Shall I book it?"


def journal_status(db: Path, message_id: str) -> str | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT status FROM journal WHERE message_id = ?", (message_id,))
        found = row.fetchone()
    return None if found is None else str(found[0])


def bookings_in(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for_reply(plane: DataPlane, text: str, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = plane.messages()
        if any(r["output"].get("text") == text for r in rows):
            return rows
        time.sleep(0.05)
    pytest.fail(f"{text!r} never appeared in GET /messages:\n{plane.output()}")


def wait_for_line(plane: DataPlane, needle: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in plane.output():
        if time.monotonic() > deadline:
            pytest.fail(f"{needle!r} never logged:\n{plane.output()}")
        time.sleep(0.02)


def confirm_and_kill(plane: DataPlane, message_id: str, *, kill_after: str) -> None:
    body = {"contact_id": CONTACT, "type": "button_reply", "payload": "confirm_yes"}
    acknowledged = plane.post({**body, "message_id": message_id}, wait=False)
    assert acknowledged.status_code == 202, acknowledged.text
    assert acknowledged.json() == {"message_id": message_id, "duplicate": False, "replies": []}
    wait_for_line(plane, kill_after)
    plane.kill()


def assert_processed_once(plane: DataPlane, db: Path, bookings: Path, message_id: str) -> None:
    rows = wait_for_reply(plane, BOOKED)
    # every reply of the walk exactly once, in order: nothing lost, nothing replayed
    assert [r["output"]["text"] for r in rows] == [*WALK, BOOKED, MENU]
    assert journal_status(db, message_id) == "done"
    assert [b["op"] for b in bookings_in(bookings)] == ["book_appointment"]
    mine = plane.say("menu_view", press=True)
    assert mine[0]["text"] == "Your upcoming appointments:\n• Mon 6 May · 10:00 · Haircut"
    # a redelivery of the acknowledged message is a duplicate with the recovered replies
    again = plane.post(
        {
            "contact_id": CONTACT,
            "type": "button_reply",
            "payload": "confirm_yes",
            "message_id": message_id,
        }
    )
    assert again.json()["duplicate"] is True
    assert again.json()["replies"][0]["text"] == BOOKED


def test_a_message_acknowledged_before_a_crash_is_processed_after_restart(
    launcher: Launcher,
) -> None:
    first = launcher.start(slow="book_appointment:before:60")
    walk_to_confirmation(first)
    confirm_and_kill(first, "confirm-1", kill_after="sleeping before book_appointment")

    assert journal_status(launcher.db, "confirm-1") == "pending"  # persisted before the 202
    assert bookings_in(launcher.bookings) == []
    assert os.path.exists(launcher.db)

    second = launcher.start()
    assert_processed_once(second, launcher.db, launcher.bookings, "confirm-1")


def test_a_crash_after_booking_but_before_the_commit_does_not_book_twice(
    launcher: Launcher,
) -> None:
    first = launcher.start(slow="book_appointment:after:60")
    walk_to_confirmation(first)
    confirm_and_kill(first, "confirm-2", kill_after="sleeping after book_appointment")

    # the calendar booked, but the turn never committed: the message is still pending
    assert journal_status(launcher.db, "confirm-2") == "pending"
    assert len(bookings_in(launcher.bookings)) == 1

    second = launcher.start()
    # the turn runs again; the booking call repeats with the same idempotency key
    assert_processed_once(second, launcher.db, launcher.bookings, "confirm-2")
