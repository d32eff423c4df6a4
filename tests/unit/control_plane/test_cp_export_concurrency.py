"""At most a few contact exports are relayed at once (each is held whole in memory); more are
answered 503 with Retry-After, and the slot is freed when an export ends, failed or not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from botfleet.control_plane.services.data_plane_contacts import DataPlaneContacts
from botfleet.control_plane.services.data_plane_relay import DataPlaneError


class HeldRelay:
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0

    async def json(self, *args: Any) -> Any:
        self.calls += 1
        await self.release.wait()
        return {"contact_id": "ana"}


async def test_exports_over_the_limit_are_refused_until_one_ends() -> None:
    relay = HeldRelay()
    contacts = DataPlaneContacts(relay, max_exports=2)  # type: ignore[arg-type]

    def export() -> asyncio.Task[Any]:
        return asyncio.ensure_future(
            contacts.export("http://dp:8002", "tok", tenant_id="acme", contact_id="ana")
        )

    running = [export(), export()]
    await asyncio.sleep(0)
    with pytest.raises(DataPlaneError) as refused:
        await contacts.export("http://dp:8002", "tok", tenant_id="acme", contact_id="bob")
    assert (refused.value.status_code, refused.value.retry_after) == (503, 5)
    assert str(refused.value) == "2 contact exports are under way; retry in 5 s"
    assert relay.calls == 2  # the refused one never reached the data plane
    relay.release.set()
    assert [await t for t in running] == [{"contact_id": "ana"}] * 2
    assert await export() == {"contact_id": "ana"}  # slots free again
