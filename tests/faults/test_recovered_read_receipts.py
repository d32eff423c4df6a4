"""After a crash, the read receipt of a recovered message is sent with its contact, so a
failed receipt's log line names the contact (by its hash) like the webhook's own receipts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message
from botfleet.testing.stores import SAMPLE_TIME


@dataclass
class ReceiptSender(RecordingSender):
    receipts: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def marks_read(self) -> bool:
        return True

    async def mark_read(self, message_id: str, *, contact_id: str | None = None) -> bool:
        self.receipts.append((message_id, contact_id))
        return True


async def test_a_recovered_messages_receipt_carries_its_contact(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:  # acknowledged, then the crash
        await store.journal.record(text_message("c1", "hello", message_id="w-1"), SAMPLE_TIME)

    sender = ReceiptSender()
    async with (
        SqliteTenantStore.open(path) as store,
        bootstrap_test_runtime(stores=store, sender=sender) as runtime,
    ):
        assert await runtime.recover() == 1
        await runtime.sequencer.drain()
    assert sender.receipts == [("w-1", "c1")]
