"""The soak's contacts (bench/soak.py): chat pages that come and go, each running a piece of
the demo conversation at a person's pace while polling `GET /messages` as chat.js does."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from bench._http import Connection

POLL_S = 2.0  # chat.js's POLL_MS
KEEP_ALIVE_S = 4.0  # uvicorn closes an idle keep-alive connection after 5 s
QUESTIONS = (
    "what are your opening hours?",
    "do you cut children's hair?",
    "how much is a colour?",
    "where are you?",
)


class PageConnection(Connection):
    """`Connection` with the page's `GET`."""

    @classmethod
    async def open_page(cls, host: str, port: int) -> PageConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def get(self, path: str) -> tuple[int, bytes]:
        self._writer.write(f"GET {path} HTTP/1.1\r\nHost: {self._host}\r\n\r\n".encode())
        return await self._read_response()


@dataclass
class Load:
    """What the contacts did and saw, and each request's latency."""

    port: int
    stop_at: float
    rng: random.Random
    latencies: list[tuple[str, float, float]] = field(default_factory=list)  # kind, end, ms
    sessions: int = 0
    contacts: int = 0
    booked: int = 0
    cancelled: int = 0
    moved: int = 0
    abandoned: int = 0
    reminders_seen: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    surprises: list[str] = field(default_factory=list)
    returns: set[asyncio.Task[None]] = field(default_factory=set)

    def running(self) -> bool:
        return time.monotonic() < self.stop_at


class Contact:
    """One chat page: its connection, its polling cursor, what it was last offered."""

    def __init__(self, load: Load, contact_id: str, polls: bool) -> None:
        self.load, self.id, self.polls = load, contact_id, polls
        self.conn: PageConnection | None = None
        self.used = 0.0
        self.since = 0
        self.replies: list[dict[str, Any]] = []
        self.lock = asyncio.Lock()  # a page never polls while it sends (chat.js)

    async def _request(self, kind: str, send: Any) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.conn is None or time.monotonic() - self.used > KEEP_ALIVE_S:
                await self.close()
                self.conn = await PageConnection.open_page("127.0.0.1", self.load.port)
            started = time.perf_counter()
            try:
                status, body = await send(self.conn)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
                continue
            ended = time.perf_counter()
            self.used = time.monotonic()
            self.load.latencies.append((kind, time.monotonic(), (ended - started) * 1000))
            self.load.statuses[status] = self.load.statuses.get(status, 0) + 1
            return status, body
        raise AssertionError("unreachable")

    async def say(self, **body: str) -> list[dict[str, Any]]:
        """Send one message (a retry keeps its message_id); the replies."""
        message = {"contact_id": self.id, "message_id": uuid.uuid4().hex, **body}
        async with self.lock:
            status, reply = await self._request(
                "inbound", lambda c: c.post_json("/inbound", message)
            )
        if status != 200:
            self.load.surprises.append(f"{body} -> {status} {reply[:120]!r}")
            return []
        self.replies = json.loads(reply)["replies"]
        return self.replies

    async def poll(self) -> None:
        async with self.lock:
            path = f"/messages?contact_id={self.id}&since={self.since}"
            status, body = await self._request("messages", lambda c: c.get(path))
        if status != 200:
            self.load.surprises.append(f"GET /messages -> {status} {body[:120]!r}")
            return
        page = json.loads(body)
        self.since = page["last"]
        for message in page["messages"]:
            if message["output"].get("text", "").startswith("Reminder:"):
                self.load.reminders_seen += 1

    def options(self, prefix: str) -> list[str]:
        """The ids offered by the last replies that start with `prefix`."""
        ids = []
        for reply in self.replies:
            ids += [b["id"] for b in reply.get("buttons", ())]
            for section in reply.get("sections", ()):
                ids += [row["id"] for row in section["rows"]]
        return [i for i in ids if i.startswith(prefix)]

    async def pick(self, prefix: str, kind: str = "list_reply") -> bool:
        """Press one of the options offered with `prefix` (at random); False when none was."""
        offered = self.options(prefix)
        if not offered:
            texts = [r.get("text", "")[:60] for r in self.replies]
            self.load.surprises.append(f"no {prefix}* option offered: {texts}")
            return False
        await self.say(type=kind, payload=self.load.rng.choice(offered))
        return True

    async def think(self) -> None:
        await asyncio.sleep(self.load.rng.uniform(1.0, 4.0))

    async def close(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            with suppress(OSError):
                await conn.close()


async def book(c: Contact) -> bool:
    """menu, book, a service, a day, a time, yes: whether it was booked."""
    rng = c.load.rng
    await c.say(text="menu")
    await c.think()
    await c.say(type="button_reply", payload="menu_book")
    await c.think()
    # colour takes 3 slots: rarer, or the calendar fills up
    await c.say(
        type="list_reply",
        payload=rng.choice(["service_haircut"] * 3 + ["service_beard"] * 2 + ["service_colour"]),
    )
    await c.think()
    if not await c.pick("day_"):
        return False
    await c.think()
    if not await c.pick("hour_"):
        return False
    await c.think()
    replies = await c.say(type="button_reply", payload="confirm_yes")
    ok = any(r.get("text", "").startswith("✅ Booked") for r in replies)
    if not ok:
        c.load.surprises.append(f"not booked: {[r.get('text', '')[:60] for r in replies]}")
    return ok


async def cancel(c: Contact) -> None:
    await c.say(text="menu")
    await c.think()
    await c.say(type="button_reply", payload="menu_cancel")
    await c.think()
    if await c.pick("cancel_appt_"):
        await c.think()
        replies = await c.say(type="button_reply", payload="cancel_yes")
        if any("cancelled" in r.get("text", "") for r in replies):
            c.load.cancelled += 1
        else:
            c.load.surprises.append(f"not cancelled: {[r.get('text', '')[:60] for r in replies]}")


async def move(c: Contact) -> None:
    await c.say(text="reschedule")
    await c.think()
    if not await c.pick("move_appt_"):
        return
    await c.think()
    if not await c.pick("day_"):
        return
    await c.think()
    if not await c.pick("hour_"):
        return
    await c.think()
    replies = await c.say(type="button_reply", payload="move_yes")
    if any(r.get("text", "").startswith("✅ Moved") for r in replies):
        c.load.moved += 1


async def poll_while(c: Contact, done: asyncio.Event) -> None:
    while not done.is_set():
        await c.poll()
        with suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), POLL_S)


async def with_page(c: Contact, script: Any) -> None:
    """Run `script(c)` with the page polling meanwhile (when it does), then close the page."""
    done = asyncio.Event()
    poller = asyncio.create_task(poll_while(c, done)) if c.polls else None
    try:
        await script(c)
        if poller is not None:  # the page stays open a moment after the last answer
            await asyncio.sleep(c.load.rng.uniform(2.0, 6.0))
    finally:
        done.set()
        if poller is not None:
            await poller
        await c.close()


async def come_back(load: Load, contact_id: str, after_s: float) -> None:
    """The contact returns after `after_s` (its reminder due meanwhile or not): reads what
    the page missed, maybe moves the appointment, then cancels it (freeing the slot)."""
    await asyncio.sleep(after_s)
    c = Contact(load, contact_id, polls=True)

    async def script(c: Contact) -> None:
        await c.poll()
        if load.rng.random() < 0.3:
            await move(c)
            await c.think()
        await cancel(c)

    await with_page(c, script)


async def session(load: Load, reminder_delay_s: float) -> None:
    """One visit of a new contact, picked at random among the demo's uses."""
    rng = load.rng
    load.contacts += 1
    contact_id = f"soak-{load.contacts}-{uuid.uuid4().hex[:6]}"
    c = Contact(load, contact_id, polls=rng.random() < 0.7)
    roll = rng.random()

    async def script(c: Contact) -> None:
        if roll < 0.40:  # book; back later to cancel, before or after its reminder
            if await book(c):
                load.booked += 1
                if rng.random() < 0.25:
                    await c.think()
                    await cancel(c)
                else:
                    after = rng.uniform(0.5, 2.0) * reminder_delay_s
                    task = asyncio.create_task(come_back(load, contact_id, after))
                    load.returns.add(task)
                    task.add_done_callback(load.returns.discard)
        elif roll < 0.60:  # idle mid-booking: never comes back
            load.abandoned += 1
            await c.say(text="book")
            await c.think()
            await c.say(type="list_reply", payload="service_haircut")
            if rng.random() < 0.5:
                await c.think()
                await c.pick("day_")
        elif roll < 0.75:  # what do I have?
            await c.say(text="hi")
            await c.think()
            await c.say(type="button_reply", payload="menu_view")
        elif roll < 0.90:  # a question for the LLM fallback
            await c.say(text="hola")
            await c.think()
            await c.say(text=rng.choice(QUESTIONS))
            await c.think()
            await c.say(text="thanks")
        else:  # cancel with nothing booked
            await c.say(text="cancel")
            await c.think()
            await c.say(text="never mind")

    await with_page(c, script)


async def drive(load: Load, at_once: int, reminder_delay_s: float) -> None:
    """Keep `at_once` new-contact sessions going until the load's end; returns still due
    after it are cancelled (they would be outside the window)."""

    async def worker() -> None:
        while load.running():
            load.sessions += 1
            try:
                await session(load, reminder_delay_s)
            except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
                load.surprises.append(f"connection: {exc!r}")
                await asyncio.sleep(1)

    await asyncio.gather(*(worker() for _ in range(at_once)))
    # returns due within the load's window finished; later ones are dropped with the window
    for task in list(load.returns):
        task.cancel()
    await asyncio.gather(*load.returns, return_exceptions=True)
