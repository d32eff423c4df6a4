"""Concurrent changes of one tenant serialize (SQLite and PostgreSQL), and a diff runs off the
event loop, bounded."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane

from botfleet.control_plane.services import flows as flows_service
from botfleet.control_plane.services import versions

CALLS_CALENDAR = """\
id: books
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: invoke_connector
        connector: calendar
        operation: get_available_days
        result_key: days
    transitions:
      - on_payload: again
        target: MENU
    fallback: MENU
"""
CALENDAR = {"calendar": {"type": "mock"}}
#: How long the first request holds the tenant; the second starts WINDOW_S / 3 into it.
WINDOW_S = 0.3


async def _tenant_with_calendar_flow(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", connectors=CALENDAR)
    upload = await cp.client.post(
        "/v1/tenants/acme/flows", json={"yaml": CALLS_CALENDAR}, headers=cp.admin
    )
    assert upload.status_code == 201, upload.text


async def _tenant(cp: ControlPlane) -> dict[str, Any]:
    response = await cp.client.get("/v1/tenants/acme", headers=cp.admin)
    body: dict[str, Any] = response.json()
    return body


async def _drop_calendar(cp: ControlPlane) -> httpx.Response:
    return await cp.client.patch("/v1/tenants/acme", json={"connectors": {}}, headers=cp.admin)


async def _publish(cp: ControlPlane, version: int) -> httpx.Response:
    return await cp.client.post(f"/v1/tenants/acme/flows/{version}/publish", headers=cp.admin)


async def test_a_publish_racing_a_patch_that_drops_its_connector_is_refused(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PATCH checks "no published flow calls calendar", then a publish of a flow calling
    it arrives before the PATCH commits: the publish waits for it and is refused."""
    await _tenant_with_calendar_flow(cp)
    kept = flows_service.check_connectors_kept

    async def slow_kept(*args: Any) -> None:
        await kept(*args)
        await asyncio.sleep(WINDOW_S)

    monkeypatch.setattr(flows_service, "check_connectors_kept", slow_kept)
    patch = asyncio.create_task(_drop_calendar(cp))
    await asyncio.sleep(WINDOW_S / 3)
    published = await _publish(cp, 1)
    patched = await patch

    assert patched.status_code == 200, patched.text
    assert published.status_code == 409, published.text
    assert "calls 'calendar'" in published.json()["detail"]
    tenant = await _tenant(cp)
    assert (tenant["connectors"], tenant["published_flow_version"]) == ({}, None)


async def test_a_patch_racing_a_publish_that_needs_its_connector_is_refused(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other order: the publish holds the tenant; the PATCH waits and then sees the flow."""
    await _tenant_with_calendar_flow(cp)
    publish_locked = versions._publish

    async def slow_publish(*args: Any) -> Any:
        await asyncio.sleep(WINDOW_S)
        return await publish_locked(*args)

    monkeypatch.setattr(versions, "_publish", slow_publish)
    publish = asyncio.create_task(_publish(cp, 1))
    await asyncio.sleep(WINDOW_S / 3)
    patched = await _drop_calendar(cp)
    published = await publish

    assert published.status_code == 200, published.text
    assert patched.status_code == 409, patched.text
    assert "calls 'calendar'" in patched.json()["detail"]
    tenant = await _tenant(cp)
    assert (tenant["connectors"], tenant["published_flow_version"]) == (CALENDAR, 1)


async def test_an_upload_and_publish_racing_a_patch_is_refused_and_not_stored(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    await cp.create_tenant("acme", connectors=CALENDAR)
    kept = flows_service.check_connectors_kept

    async def slow_kept(*args: Any) -> None:
        await kept(*args)
        await asyncio.sleep(WINDOW_S)

    monkeypatch.setattr(flows_service, "check_connectors_kept", slow_kept)
    patch = asyncio.create_task(_drop_calendar(cp))
    await asyncio.sleep(WINDOW_S / 3)
    upload = await cp.client.post(
        "/v1/tenants/acme/flows?publish=true", json={"yaml": CALLS_CALENDAR}, headers=cp.admin
    )
    assert (await patch).status_code == 200
    assert upload.status_code == 409, upload.text
    listed = (await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)).json()
    assert (listed["published_version"], listed["versions"]) == (None, [])


async def test_concurrent_publishes_serialize_and_audit_an_unbroken_chain(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("acme")
    for label in ("one", "two", "three", "four"):
        assert (await cp.upload_flow("acme", label)).status_code == 201
    assert (await _publish(cp, 1)).status_code == 200

    answers = await asyncio.gather(*(_publish(cp, version) for version in (2, 3, 4)))

    assert [a.status_code for a in answers] == [200, 200, 200]
    audit = (
        await cp.client.get("/v1/audit", params={"action": "flow.publish"}, headers=cp.admin)
    ).json()
    chain = [(e["details"]["from_version"], e["details"]["to_version"]) for e in reversed(audit)]
    assert chain[0] == (None, 1)
    assert sorted(to for _, to in chain[1:]) == [2, 3, 4]
    # Each publish started from the version the previous one left published.
    assert all(chain[i][0] == chain[i - 1][1] for i in range(1, len(chain)))
    assert (await _tenant(cp))["published_flow_version"] == chain[-1][1]


# ---------------------------------------------------------------- uploads

UPLOADS = 8


async def _versions(cp: ControlPlane, kind: str) -> list[int]:
    listed = (await cp.client.get(f"/v1/tenants/acme/{kind}", headers=cp.admin)).json()
    return [v["version"] for v in listed["versions"]]


async def test_concurrent_flow_uploads_of_one_tenant_all_get_consecutive_versions(
    cp: ControlPlane,
) -> None:
    """Eight uploads at once: none is refused with "retry the request"; each gets its own
    number, 1..8, and every audit entry names the version that was stored."""
    await cp.create_tenant("acme")

    answers = await asyncio.gather(
        *(cp.upload_flow("acme", f"v{i}", publish=i % 2 == 0) for i in range(UPLOADS))
    )

    assert [a.status_code for a in answers] == [201] * UPLOADS, [a.text for a in answers]
    numbers = sorted(a.json()["version"] for a in answers)
    assert numbers == list(range(1, UPLOADS + 1))
    assert await _versions(cp, "flows") == numbers
    for answer in answers:  # each answer describes the version stored under its number
        number = answer.json()["version"]
        stored = (await cp.client.get(f"/v1/tenants/acme/flows/{number}", headers=cp.admin)).json()
        assert stored["sha256"] == answer.json()["sha256"]
    audit = (
        await cp.client.get("/v1/audit", params={"action": "flow.upload"}, headers=cp.admin)
    ).json()
    assert sorted(int(e["target"]) for e in audit) == numbers


async def test_concurrent_knowledge_uploads_of_one_tenant_all_get_consecutive_versions(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("acme")

    async def upload(i: int) -> httpx.Response:
        return await cp.client.post(
            "/v1/tenants/acme/knowledge",
            params={"publish": str(i % 2 == 0).lower()},
            json={"text": f"# FAQ {i}"},
            headers=cp.admin,
        )

    answers = await asyncio.gather(*(upload(i) for i in range(UPLOADS)))

    assert [a.status_code for a in answers] == [201] * UPLOADS, [a.text for a in answers]
    numbers = sorted(a.json()["version"] for a in answers)
    assert numbers == list(range(1, UPLOADS + 1))
    assert await _versions(cp, "knowledge") == numbers


# ---------------------------------------------------------------- diff


async def _two_knowledge_versions(cp: ControlPlane, first: str, second: str) -> None:
    await cp.create_tenant("acme")
    for text in (first, second):
        response = await cp.client.post(
            "/v1/tenants/acme/knowledge",
            content=text,
            headers={**cp.admin, "Content-Type": "text/markdown"},
        )
        assert response.status_code == 201, response.text


async def test_a_diff_runs_off_the_event_loop(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow diff (here: one that takes 0.5 s of wall time) does not stall other requests: it
    runs in a worker thread, and /health is answered while it runs. (Not a timing threshold: a
    loaded CI machine may answer late, never not at all.)"""
    await _two_knowledge_versions(cp, "# Prices\nCut: 15 EUR\n", "# Prices\nCut: 18 EUR\n")
    diff = versions.unified_diff
    threads: list[threading.Thread] = []
    running = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_diff(*args: Any, **kwargs: Any) -> str:
        threads.append(threading.current_thread())
        loop.call_soon_threadsafe(running.set)
        time.sleep(0.5)  # the event loop's thread would be stuck here were it run there
        return diff(*args, **kwargs)

    monkeypatch.setattr(versions, "unified_diff", slow_diff)
    done = asyncio.Event()

    async def probe() -> int:
        await running.wait()
        answered = 0
        while not done.is_set():
            assert (await cp.client.get("/health")).status_code == 200
            answered += 1
            await asyncio.sleep(0.01)
        return answered

    async def diff_call() -> httpx.Response:
        try:
            return await cp.client.get(
                "/v1/tenants/acme/knowledge/diff", params={"from": 1, "to": 2}, headers=cp.admin
            )
        finally:
            done.set()

    answer, answered = await asyncio.gather(diff_call(), probe())
    assert answer.status_code == 200
    assert "-Cut: 15 EUR\n+Cut: 18 EUR\n" in answer.text
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert answered >= 1, "/health was not answered while the diff ran"


async def test_a_diff_of_long_versions_is_cut_and_says_so(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(versions, "MAX_DIFF_LINES", 3)
    old = "".join(f"line {i}\n" for i in range(10))
    new = old.replace("line 1\n", "line one\n").replace("line 8\n", "line eight\n")
    await _two_knowledge_versions(cp, old, new)
    answer = await cp.client.get(
        "/v1/tenants/acme/knowledge/diff", params={"from": 1, "to": 2}, headers=cp.admin
    )
    assert answer.status_code == 200
    assert "-line 1\n+line one\n" in answer.text
    assert "line eight" not in answer.text  # past the cut
    assert answer.text.endswith(
        "# diff cut: only the first 3 lines of each version were compared (knowledge@v1 has "
        "10 lines, knowledge@v2 has 10); read the versions themselves for the rest\n"
    )
