"""A runtime's task runner for tests, each run held at its start until the test opens the
gate: a run stays under way (as one waiting behind the contact's turns) while the test asks
for another, and a second run reaching the runner meanwhile is seen, never waited for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botfleet.ports.scheduling import Claim
from botfleet.testing.runtime import ChatClient

T = TypeVar("T")


@dataclass
class GatedRunner:
    """Bind `run` as the scheduler's runner; `chat` is the data plane the runs go to."""

    chat: ChatClient | None = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    open: asyncio.Event = field(default_factory=asyncio.Event)
    #: A run reached the runner while another was held.
    again: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(
        self,
        contact_id: str | None,
        task: str,
        data: dict[str, Any],
        run_id: str,
        /,
        *,
        strict: bool = False,
        claim: Claim | None = None,
    ) -> object:
        if self.entered.is_set() and not self.open.is_set():
            self.again.set()
        self.entered.set()
        await self.open.wait()
        assert self.chat is not None, "give the gate its data plane before a run"
        runtime = self.chat.runtime
        return await runtime.run_task(contact_id, task, data, run_id, strict=strict, claim=claim)

    async def alone(self, work: Awaitable[T]) -> T:
        """`work`'s result, unless a second run reaches the runner first: the gate then opens
        (nothing hangs) and `AssertionError` fails the test."""
        done = asyncio.ensure_future(work)
        again = asyncio.ensure_future(self.again.wait())
        await asyncio.wait({done, again}, return_when=asyncio.FIRST_COMPLETED)
        again.cancel()
        if not done.done():
            self.open.set()
            await done
            raise AssertionError("a second run of the job reached the runner while one was held")
        return done.result()
