"""Contract of ContactRecords: a contact's journal entries, and erasing the contact."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.testing.stores import SAMPLE_TIME, sample_message, sample_state

TenantStore = InMemoryTenantStore | SqliteTenantStore

T0 = SAMPLE_TIME


def text(body: str) -> dict[str, str]:
    return {"type": "text", "text": body}


async def converse(store: TenantStore, contact: str, turns: int, *, start: int = 0) -> None:
    """`turns` answered messages of `contact` ("<contact>-<n>"), each with one reply."""
    version = 0
    existing = await store.states.load(contact)
    if existing is not None:
        version = existing.version
    for n in range(start, start + turns):
        message = sample_message(f"{contact}-{n}", contact, text=f"secret {contact} {n}")
        assert await store.journal.record(message, T0 + timedelta(seconds=n))
        saved = await store.commit_turn(
            sample_state(contact, data={"name": f"name of {contact}"}),
            expected_version=version,
            message_id=message.message_id,
            outputs=[text(f"reply to {contact} {n}")],
            at=T0 + timedelta(seconds=n),
        )
        version = saved.version


async def test_received_lists_the_contacts_messages_oldest_first(
    tenant_store: TenantStore,
) -> None:
    await converse(tenant_store, "ana", 3)
    await converse(tenant_store, "bob", 2)
    received = await tenant_store.contacts.received("ana", limit=10)
    assert [e.message.message_id for e in received] == ["ana-0", "ana-1", "ana-2"]
    assert [e.message.text for e in received] == ["secret ana 0", "secret ana 1", "secret ana 2"]
    assert received[0].status == "done"
    assert received[0].replies == (text("reply to ana 0"),)
    assert [e.message.message_id for e in await tenant_store.contacts.received("ana", limit=2)] == [
        "ana-0",
        "ana-1",
    ]
    assert await tenant_store.contacts.received("nobody", limit=10) == []


async def test_erase_removes_state_outbox_and_message_contents_and_nothing_of_others(
    tenant_store: TenantStore,
) -> None:
    await converse(tenant_store, "ana", 3)
    await converse(tenant_store, "bob", 2)
    bob_before = (
        await tenant_store.states.load("bob"),
        await tenant_store.outbox.since(contact_id="bob"),
        await tenant_store.contacts.received("bob", limit=10),
    )

    erased = await tenant_store.contacts.erase("ana")

    assert (erased.conversation, erased.messages_received, erased.messages_sent) == (True, 3, 3)
    assert await tenant_store.states.load("ana") is None
    assert await tenant_store.outbox.since(contact_id="ana") == []
    assert await tenant_store.contacts.received("ana", limit=10) == []
    assert all(row["contact_id"] == "bob" for row in await tenant_store.outbox.since())
    for n in range(3):
        entry = await tenant_store.journal.get(f"ana-{n}")
        assert entry is not None  # kept: a redelivery is still recognised
        assert entry.status == "done"
        assert entry.replies == ()
        assert (entry.message.contact_id, entry.message.text) == ("", "")
        assert entry.message.timestamp == T0 + timedelta(seconds=n)
        assert not await tenant_store.journal.record(
            sample_message(f"ana-{n}", "ana"), T0 + timedelta(days=1)
        )
    assert bob_before == (
        await tenant_store.states.load("bob"),
        await tenant_store.outbox.since(contact_id="bob"),
        await tenant_store.contacts.received("bob", limit=10),
    )


async def test_erasing_an_unknown_contact_changes_nothing(tenant_store: TenantStore) -> None:
    await converse(tenant_store, "bob", 1)
    erased = await tenant_store.contacts.erase("ana")
    assert (erased.conversation, erased.messages_received, erased.messages_sent) == (False, 0, 0)
    assert len(await tenant_store.outbox.since()) == 1
    assert await tenant_store.states.load("bob") is not None


async def test_pending_messages_are_left_to_run(tenant_store: TenantStore) -> None:
    """A message that arrived after the erasure was asked for still gets its turn."""
    await converse(tenant_store, "ana", 1)
    later = sample_message("ana-later", "ana", text="hello again")
    assert await tenant_store.journal.record(later, T0 + timedelta(minutes=1))

    erased = await tenant_store.contacts.erase("ana")

    assert erased.messages_received == 1
    [pending] = await tenant_store.journal.pending()
    assert pending.message == later
    await tenant_store.commit_turn(
        sample_state("ana"),
        expected_version=0,  # a new conversation
        message_id="ana-later",
        outputs=[text("welcome")],
        at=T0 + timedelta(minutes=1),
    )
    assert [e.message.text for e in await tenant_store.contacts.received("ana", limit=5)] == [
        "hello again"
    ]


async def test_unsent_outputs_of_the_contact_are_not_sent_after_erasure(
    tenant_store: TenantStore,
) -> None:
    for contact in ("ana", "bob"):
        message = sample_message(f"{contact}-1", contact)
        await tenant_store.journal.record(message, T0)
        await tenant_store.commit_turn(
            sample_state(contact),
            expected_version=0,
            message_id=message.message_id,
            outputs=[text(f"to {contact}")],
            at=T0,
            undelivered=True,
        )
    await tenant_store.contacts.erase("ana")
    assert [r["contact_id"] for r in await tenant_store.pending_deliveries()] == ["bob"]


@settings(max_examples=25, deadline=None)
@given(contacts=st.lists(st.sampled_from(["ana", "bob", "cy"]), min_size=1, max_size=12))
async def test_erasure_leaves_exactly_the_other_contacts_records(contacts: list[str]) -> None:
    """Any interleaving of conversations: after erasing one contact, the outbox and the
    journal hold exactly the other contacts' records (memory store: the SQLite store runs the
    same cases above)."""
    async with InMemoryTenantStore() as store:
        counts: dict[str, int] = {}
        for contact in contacts:
            await converse(store, contact, 1, start=counts.get(contact, 0))
            counts[contact] = counts.get(contact, 0) + 1
        target = contacts[0]
        before = {c: await store.contacts.received(c, limit=100) for c in counts if c != target}
        erased = await store.contacts.erase(target)
        assert erased.messages_sent == erased.messages_received == counts[target]
        assert {r["contact_id"] for r in await store.outbox.since(limit=500)} == set(counts) - {
            target
        }
        after = {c: await store.contacts.received(c, limit=100) for c in counts if c != target}
        assert after == before


async def test_recent_lists_conversations_newest_first(tenant_store: TenantStore) -> None:
    for n, contact in enumerate(["a", "b", "c", "d"]):
        # Different offsets: ordered as instants, not as written.
        zone = timezone(timedelta(hours=n - 2))
        at = (T0 + timedelta(minutes=n)).astimezone(zone)
        await tenant_store.states.save(
            sample_state(contact, node=f"N{n}", updated_at=at, last_inbound_at=at),
            expected_version=0,
        )
    recent = await tenant_store.contacts.recent(limit=10)
    assert [c.contact_id for c in recent] == ["d", "c", "b", "a"]
    assert recent[0].node == "N3"
    assert recent[0].updated_at == T0 + timedelta(minutes=3)
    assert recent[0].last_inbound_at == T0 + timedelta(minutes=3)
    assert [c.contact_id for c in await tenant_store.contacts.recent(limit=2)] == ["d", "c"]
    since = T0 + timedelta(minutes=1)
    listed = await tenant_store.contacts.recent(limit=10, active_since=since)
    assert [c.contact_id for c in listed] == ["d", "c", "b"]
    assert await tenant_store.contacts.recent(limit=10, active_since=T0 + timedelta(days=1)) == []


async def test_recent_across_many_batches(tenant_store: TenantStore, monkeypatch: Any) -> None:
    from botfleet.adapters.stores import _sqlite_contacts

    monkeypatch.setattr(_sqlite_contacts, "RECENT_BATCH", 7)
    order = [(n * 37) % 50 for n in range(50)]  # saved in a shuffled order of times
    for n in order:
        at = T0 + timedelta(seconds=n)
        await tenant_store.states.save(sample_state(f"c{n:02}", updated_at=at), expected_version=0)
    recent = await tenant_store.contacts.recent(limit=5)
    assert [c.contact_id for c in recent] == ["c49", "c48", "c47", "c46", "c45"]


async def pages(store: TenantStore, limit: int, **filters: Any) -> list[list[str]]:
    """Every page of `recent`, each asked after the last conversation of the one before."""
    found: list[list[str]] = []
    before = None
    while True:
        page = await store.contacts.recent(limit=limit, before=before, **filters)
        if not page:
            return found
        found.append([c.contact_id for c in page])
        assert len(found) <= 100, "the pages do not end: a page repeats the one before"
        before = (page[-1].updated_at, page[-1].contact_id)


async def test_pages_split_conversations_of_one_time_none_skipped_nor_repeated(
    tenant_store: TenantStore, monkeypatch: Any
) -> None:
    from botfleet.adapters.stores import _sqlite_contacts

    monkeypatch.setattr(_sqlite_contacts, "RECENT_BATCH", 4)
    # Seven at one instant (written in three offsets: one time all the same), one before and
    # one after; ids chosen so that none sorts as saved, "é" beyond ASCII.
    same = T0 + timedelta(minutes=5)
    ties = ["t3", "t1", "té", "t6", "t0", "t5", "t2"]
    for n, contact in enumerate(ties):
        at = same.astimezone(timezone(timedelta(hours=n % 3 - 1)))
        await tenant_store.states.save(sample_state(contact, updated_at=at), expected_version=0)
    for contact, at in [("old", T0), ("new", same + timedelta(seconds=1))]:
        await tenant_store.states.save(sample_state(contact, updated_at=at), expected_version=0)

    listed = await pages(tenant_store, 3)

    assert listed == [
        ["new", "té", "t6"],
        ["t5", "t3", "t2"],
        ["t1", "t0", "old"],
    ]
    assert await pages(tenant_store, 100) == [
        ["new", "té", "t6", "t5", "t3", "t2", "t1", "t0", "old"]
    ]


async def test_a_page_after_a_time_in_another_offset_and_with_active_since(
    tenant_store: TenantStore,
) -> None:
    for n in range(6):
        at = T0 + timedelta(minutes=n // 2)  # two conversations a minute
        await tenant_store.states.save(sample_state(f"c{n}", updated_at=at), expected_version=0)
    tokyo = timezone(timedelta(hours=9))

    after_c3 = (T0 + timedelta(minutes=1)).astimezone(tokyo), "c3"
    listed = await tenant_store.contacts.recent(limit=10, before=after_c3)
    assert [c.contact_id for c in listed] == ["c2", "c1", "c0"]
    since = T0 + timedelta(minutes=1)
    assert await pages(tenant_store, 1, active_since=since) == [["c5"], ["c4"], ["c3"], ["c2"]]
    before_all = (T0, "c0")
    assert await tenant_store.contacts.recent(limit=10, before=before_all) == []


async def test_pages_of_any_size_make_up_the_whole_list(tenant_store: TenantStore) -> None:
    """Times 0.3 ms apart: SQLite ties those in one millisecond, the memory store does not;
    either way the pages, laid end to end, are the list asked at once."""
    for n in range(30):
        at = T0 + timedelta(microseconds=300 * ((n * 7) % 30))
        await tenant_store.states.save(sample_state(f"c{n:02}", updated_at=at), expected_version=0)
    (whole,) = await pages(tenant_store, 100)
    assert sorted(whole) == [f"c{n:02}" for n in range(30)]

    for limit in range(1, 8):
        assert [c for page in await pages(tenant_store, limit) for c in page] == whole
