"""A data plane whose configuration polls are refused (its boot token rotated, its tenant
disabled) or cut off runs on, and says so in /health's `config.control_plane`, which the
control plane's status turns into a note."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
from boot_harness import DownTransport, cp_transport, dp_settings, running_data_plane, watcher_of
from cp_harness import ControlPlane

from botfleet.control_plane.models import DataPlaneHealth
from botfleet.control_plane.services.fleet import notes_of
from botfleet.data_plane.config_source import pull_boot_config


async def test_a_rotated_boot_token_shows_in_health_and_in_the_status_notes(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    async with running_data_plane(settings, booted) as chat:
        assert (await watcher_of(chat).poll_now()).outcome == "unchanged"
        health = (await chat.http.get("/health")).json()
        assert health["config"]["control_plane"] == {
            "polls": "ok",
            "http_status": None,
            "since": None,
        }
        assert notes_of(DataPlaneHealth.model_validate(health), None) == []

        rotated = await cp.client.post("/v1/tenants/acme/boot-token/rotate", headers=cp.admin)
        assert rotated.status_code == 200, rotated.text
        assert (await watcher_of(chat).poll_now()).outcome == "refused"
        health = (await chat.http.get("/health")).json()
        polls = health["config"]["control_plane"]
        assert (health["status"], polls["polls"], polls["http_status"]) == ("ok", "refused", 401)
        since = datetime.fromisoformat(polls["since"])
        # A second refusal keeps the first one's time.
        await watcher_of(chat).poll_now()
        again = (await chat.http.get("/health")).json()["config"]["control_plane"]
        assert datetime.fromisoformat(again["since"]) == since
        [note] = notes_of(DataPlaneHealth.model_validate(health), None)
        assert note.startswith("config polls refused since ")
        assert "boot token is refused" in note and "publishes do not reach it" in note
        assert token not in str(health)


async def test_a_start_from_the_cache_and_an_outage_show_until_the_control_plane_answers(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    await pull_boot_config(settings, transport=cp_transport(cp))
    booted = await pull_boot_config(settings, transport=DownTransport())
    assert booted.origin == "cache"
    async with running_data_plane(settings, booted) as chat:
        health = (await chat.http.get("/health")).json()
        assert health["config"]["control_plane"]["polls"] == "cache"
        [note] = notes_of(DataPlaneHealth.model_validate(health), None)
        assert note.startswith("started from its cached copy")
        assert (await watcher_of(chat).poll_now()).outcome == "unreachable"
        health = (await chat.http.get("/health")).json()
        assert health["config"]["control_plane"]["polls"] == "unreachable"
        assert health["config"]["control_plane"]["http_status"] is None
        # The control plane answers again: the polls are ok.
        async with httpx.AsyncClient(transport=cp_transport(cp)) as http:
            assert (await watcher_of(chat).poll_once(http)).outcome == "unchanged"
        health = (await chat.http.get("/health")).json()
        assert health["config"]["control_plane"] == {
            "polls": "ok",
            "http_status": None,
            "since": None,
        }


async def test_both_planes_health_name_the_release(cp: ControlPlane, tmp_path: Path) -> None:
    from botfleet.release import release

    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    async with running_data_plane(settings, booted) as chat:
        assert (await chat.http.get("/health")).json()["release"] == release()
    assert (await cp.client.get("/health")).json()["release"] == release()
