"""Many messages at once over HTTP: one contact's stay in order, many contacts all get answers."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from botfleet.testing.runtime import ChatClient, running_app

#: Appends every message's text to `data.received` and says how many it has.
LOG_FLOW = {
    "id": "log_v1",
    "initial_state": "LOG",
    "states": {
        "LOG": {
            "on_enter": [
                {"action": "send_text", "text": "{{ data.received | default([]) | length }}"}
            ],
            "transitions": [
                {
                    "on_type": "text",
                    "set_data": {
                        "received": "{{ (data.received | default([])) + [message.text] }}"
                    },
                    "target": "LOG",
                }
            ],
        }
    },
}


def journal_order(db: Path) -> list[str]:
    """Message ids in the order the journal recorded them (the order they were accepted)."""
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT message_id FROM journal ORDER BY seq")]


async def send(chat: ChatClient, contact: str, text: str) -> tuple[str, str]:
    reply = await chat.post({"contact_id": contact, "text": text, "message_id": text})
    return text, str(reply["replies"][0]["text"])


async def test_fifty_messages_of_one_contact_are_processed_in_order_none_lost(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    async with running_app(flow=LOG_FLOW, state_db=db) as chat:
        texts = [f"m{i:02d}" for i in range(50)]
        answers = dict(await asyncio.gather(*(send(chat, "c1", t) for t in texts)))
        order = journal_order(db)
        assert sorted(order) == texts
        state = await chat.runtime.states.load("c1")
        assert state is not None
        assert state.data["received"] == order
        assert state.version == 50
        # each turn saw exactly the messages journaled before it
        assert [answers[m] for m in order] == [str(n) for n in range(1, 51)]
        rows = await chat.messages("c1")
        assert [r["output"]["text"] for r in rows] == [str(n) for n in range(1, 51)]


async def test_a_thousand_contacts_at_once_all_get_their_own_answer(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    async with running_app(flow=LOG_FLOW, state_db=db) as chat:
        contacts = [f"contact-{i:04d}" for i in range(1000)]
        answers = await asyncio.gather(*(send(chat, c, f"hello-{c}") for c in contacts))
        assert [a[1] for a in answers] == ["1"] * 1000
        for contact in contacts:
            state = await chat.runtime.states.load(contact)
            assert state is not None, contact
            assert state.data["received"] == [f"hello-{contact}"]
            assert state.version == 1
        assert await chat.runtime.states.count() == 1000
        assert len(journal_order(db)) == 1000
        assert chat.runtime.sequencer.busy_keys == 0
        # Turns committing together were written in shared transactions (each turn journals
        # its message in its own commit: one write per message).
        group = chat.runtime.turns.group_commit
        assert group.calls == 1000 and group.groups < group.calls / 4


async def test_a_burst_on_the_async_path_keeps_order_too(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    async with running_app(flow=LOG_FLOW, state_db=db) as chat:
        texts = [f"a{i:02d}" for i in range(30)]
        await asyncio.gather(
            *(
                chat.post({"contact_id": "c1", "text": t, "message_id": t}, wait=False)
                for t in texts
            )
        )
        await chat.runtime.sequencer.drain()
        state = await chat.runtime.states.load("c1")
        assert state is not None
        assert state.data["received"] == journal_order(db)
        assert len(state.data["received"]) == 30
