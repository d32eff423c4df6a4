"""Stored URLs are not re-checked when `CP_TENANT_URL_POLICY` changes (nor when the admin set
them): `GET /v1/admin/tenant-urls` lists those the public rules refuse (bindings and
credentials, names looked up), and a start with the policy `public` logs each one a URL's
form gives away, without a lookup. Never a URL, nor a secret (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from cp_harness import ControlPlane, Database, FakeDns, make_settings, running_control_plane

from botfleet.control_plane.db.engine import describe_database
from botfleet.control_plane.services import url_review

SIG = "sig-review-S3cr3t-77"
PRIVATE_NAME = "llm.corp-example.com"  # resolves to a private address (FakeDns below)
INTERNAL_LLM = {"type": "openai_compatible", "base_url": "http://10.0.0.5:8000/v1"}
CALDAV = {"type": "caldav", "url": "https://dav.internal/cal", "username": "bob"}
HOOK = {"type": "webhook", "format": "json"}
HOOK_URL = f"http://127.0.0.1:9000/hook?sig={SIG}"
REPORT = "/v1/admin/tenant-urls"


def _dns() -> FakeDns:
    return FakeDns({PRIVATE_NAME: ["192.168.1.20"]})


async def _store_old_tenants(cp: ControlPlane) -> None:
    """What a fleet run under `any` (or set up with the admin key) may hold."""
    await cp.create_tenant(
        "old",
        connectors={"llm": INTERNAL_LLM, "calendar": CALDAV, "notification": HOOK},
        llm={"enabled": True, "base_url": f"https://{PRIVATE_NAME}/v1"},
    )
    stored = await cp.client.put(
        "/v1/tenants/old/credentials/connector:notification",
        json={"url": HOOK_URL},
        headers=cp.admin,
    )
    assert stored.status_code == 200, stored.text
    await cp.create_tenant(
        "fine", connectors={"llm": {**INTERNAL_LLM, "base_url": "https://api.example.org/v1"}}
    )


def _hidden(text: str) -> None:
    assert SIG not in text
    for host in ("10.0.0.5", "dav.internal", PRIVATE_NAME, "127.0.0.1"):
        assert host not in text, host


@pytest.mark.parametrize("policy", ["public", "any"])
async def test_the_report_lists_stored_urls_the_public_rules_refuse(
    database: Database, policy: str
) -> None:
    settings = make_settings(database, tenant_url_policy=policy)
    async with running_control_plane(settings, dns=_dns()) as cp:
        await _store_old_tenants(cp)
        cp.dns.asked.clear()

        answer = await cp.client.get(REPORT, headers=cp.admin)
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert (report["policy"], report["tenants"], report["unreadable"]) == (policy, 2, [])
        assert report["refused"] == [
            {"tenant_id": "old", "place": "connectors.llm.base_url",
             "problem": "the URL's host is a private-network address"},
            {"tenant_id": "old", "place": "connectors.calendar.url",
             "problem": "the URL's host is in .internal, a DNS zone that is not the public "
                        "internet's"},
            {"tenant_id": "old", "place": "llm.base_url",
             "problem": "the URL's host resolves to a private-network address"},
            {"tenant_id": "old", "place": "credentials.connector:notification.url",
             "problem": "the URL's host is a loopback address"},
        ]  # fmt: skip
        # Each distinct name once; IP addresses and internal names need no lookup.
        assert sorted(cp.dns.asked) == ["api.example.org", PRIVATE_NAME]
        _hidden(answer.text)

        key = cp.auth(await cp.tenant_key("old"))
        refused = await cp.client.get(REPORT, headers=key)
        assert refused.status_code == 403, refused.text


async def test_a_start_logs_each_stored_url_the_policy_refuses_by_its_form(
    database: Database, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_control_plane(make_settings(database, tenant_url_policy="any")) as cp:
        await _store_old_tenants(cp)
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    dns = _dns()
    async with running_control_plane(make_settings(database), dns=dns):
        pass
    events = [json.loads(r.getMessage()) for r in caplog.records if "tenant_url" in r.message]
    each = [e for e in events if e["event"] == "tenant_url_outside_policy"]
    assert [(e["tenant_id"], e["place"]) for e in each] == [
        ("old", "connectors.llm.base_url"),
        ("old", "connectors.calendar.url"),
        ("old", "credentials.connector:notification.url"),
    ], "by form only: the name resolving to a private address needs the report"
    assert all(e["level"] == "warning" and e["problem"].startswith("the URL's host ") for e in each)
    [summary] = [e for e in events if e["event"] == "tenant_urls_outside_policy"]
    assert (summary["tenants"], summary["urls"]) == (1, 3)
    assert "botfleet cp tenant-urls" in summary["hint"]
    assert dns.asked == [], "the start looks no name up"
    logged = caplog.text + "".join(capsys.readouterr())
    assert "control plane started" in logged
    # The start line names the database, whose host (127.0.0.1 in CI) is not a tenant's URL.
    _hidden(logged.replace(describe_database(database.url), "the database"))

    # Under `any` nothing is logged.
    caplog.clear()
    async with running_control_plane(make_settings(database, tenant_url_policy="any")):
        pass
    assert "tenant_url" not in caplog.text


async def test_the_start_goes_on_when_the_review_cannot_read(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = make_settings(database, migrate_on_startup=False)
    async with running_control_plane(settings) as cp:
        health = await cp.client.get("/health")
        assert health.json()["database"] == "not migrated"
    assert "tenant_url_review_skipped" in caplog.text
    assert "control plane started" in caplog.text


async def test_the_start_logs_at_most_a_hundred_places(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await cp.create_tenant("old", connectors={"llm": INTERNAL_LLM, "calendar": CALDAV})
    monkeypatch.setattr(url_review, "MAX_STARTUP_WARNINGS", 1)
    caplog.set_level(logging.DEBUG)
    container = cp.app.state.container
    await url_review.log_stored_urls_outside_policy(
        container.uow(), container.box, container.url_guard
    )
    events: list[dict[str, Any]] = [
        json.loads(r.getMessage()) for r in caplog.records if "tenant_url" in r.message
    ]
    assert [e["event"] for e in events] == [
        "tenant_url_outside_policy",
        "tenant_urls_outside_policy",
    ]
    assert (events[1]["urls"], events[1]["logged"]) == (2, 1)
