"""A flow upload is checked in a worker thread: checking a large flow compiles every template,
and on the event loop it held every other tenant's requests and boot pulls meanwhile."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from cp_harness import ControlPlane

from botfleet.control_plane.services import flows


async def test_the_flow_is_checked_off_the_event_loop(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    check = flows.validate_flow

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return check(*args, **kwargs)

    monkeypatch.setattr(flows, "validate_flow", recording)
    await cp.create_tenant("acme")
    response = await cp.upload_flow("acme", "one")
    assert response.status_code == 201, response.text
    assert len(threads) == 1
    assert threads[0] is not threading.main_thread()
    assert response.json()["flow_id"] == "tiny_flow"
