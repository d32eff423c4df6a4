"""A synchronous channel's message (the web chat's `POST /inbound`) whose turn failed is
journaled failed in one write. It was recorded pending, then completed failed: a crash between
the two left a pending entry, and the next start ran again a message whose caller had already
been given the error. The crash is played by a journal whose `complete` fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from botfleet.adapters.stores.memory import InMemoryTenantStore
from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.domain.errors import StoreError
from botfleet.testing.runtime import bootstrap_test_runtime, text_message


@asynccontextmanager
async def tenant_store(
    kind: str, folder: Path
) -> AsyncIterator[InMemoryTenantStore | SqliteTenantStore]:
    if kind == "memory":
        yield InMemoryTenantStore()
    else:
        async with SqliteTenantStore.open(folder / "state.db") as store:
            yield store


async def disk_full(*_: Any, **__: Any) -> Any:
    raise StoreError("disk full")


async def crash(*_: Any, **__: Any) -> Any:
    raise StoreError("the process died here")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_failed_turn_of_a_web_chat_message_is_never_left_pending(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with tenant_store(kind, tmp_path) as store:
        monkeypatch.setattr(store, "commit_turn", disk_full)
        monkeypatch.setattr(store.journal, "complete", crash)
        async with bootstrap_test_runtime(stores=store) as runtime:
            with pytest.raises(StoreError, match="disk full"):
                await runtime.handle(text_message("c1", "one", message_id="m-1"))
        entry = await store.journal.get("m-1")
        assert entry is not None
        assert (entry.status, entry.replies) == ("failed", ())
        assert await store.journal.pending() == []  # nothing for the next start to run again
