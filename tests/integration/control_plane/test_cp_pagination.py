"""Tenant and version lists come in pages (SQLite and PostgreSQL): `limit` (default 100, at
most 500) and an opaque cursor, given back as a ``Link: <...>; rel="next"`` header (and, for
versions, as ``next_cursor`` in the body). Pages are keyset-ordered: nothing repeats or is
skipped."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cp_harness import ControlPlane

# Punctuation sorts differently under PostgreSQL's collations and SQLite's bytes: the pages
# must still follow the one order the database lists them in.
IDS = ["z", "a-b", "ab", "a_b", "a0", "c-1", "b"]


def _next(response: httpx.Response) -> str | None:
    link = response.links.get("next", {}).get("url")
    return None if link is None else parse_qs(urlsplit(link).query)["cursor"][0]


async def _all_pages(
    cp: ControlPlane, path: str, limit: int, headers: dict[str, str]
) -> list[httpx.Response]:
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await cp.client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response)
        cursor = _next(response)
        if cursor is None:
            return pages
        assert len(pages) < 50, "the pages never end"


async def test_tenants_come_in_pages_each_linking_the_next(cp: ControlPlane) -> None:
    for tenant_id in IDS:
        await cp.create_tenant(tenant_id)
    whole = await cp.client.get("/v1/tenants", params={"limit": 500}, headers=cp.admin)
    assert "Link" not in whole.headers
    everyone = [t["id"] for t in whole.json()]
    assert sorted(everyone) == sorted(IDS)

    pages = await _all_pages(cp, "/v1/tenants", 3, cp.admin)

    assert [len(p.json()) for p in pages] == [3, 3, 1]
    assert [t["id"] for p in pages for t in p.json()] == everyone
    link = pages[0].headers["Link"]
    assert link.startswith("</v1/tenants?limit=3&cursor=") and link.endswith('>; rel="next"')
    # A tenant key pages through its own tenant only.
    key = await cp.tenant_key("ab")
    mine = await _all_pages(cp, "/v1/tenants", 1, cp.auth(key))
    assert [[t["id"] for t in p.json()] for p in mine] == [["ab"]]


async def test_the_default_page_holds_100_tenants(cp: ControlPlane) -> None:
    for batch in range(0, 101, 20):
        await asyncio.gather(
            *(cp.create_tenant(f"t{i:03d}") for i in range(batch, min(batch + 20, 101)))
        )

    first = await cp.client.get("/v1/tenants", headers=cp.admin)

    assert [t["id"] for t in first.json()] == [f"t{i:03d}" for i in range(100)]
    cursor = _next(first)
    assert cursor is not None
    assert f"limit=100&cursor={cursor}" in first.headers["Link"]
    rest = await cp.client.get("/v1/tenants", params={"cursor": cursor}, headers=cp.admin)
    assert [t["id"] for t in rest.json()] == ["t100"]
    assert "Link" not in rest.headers


async def test_versions_come_in_pages_with_next_cursor(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    for i in range(1, 6):
        uploaded = await cp.client.post(
            "/v1/tenants/acme/knowledge",
            params={"publish": str(i == 2).lower()},
            json={"text": f"# FAQ {i}"},
            headers=cp.admin,
        )
        assert uploaded.status_code == 201

    pages = await _all_pages(cp, "/v1/tenants/acme/knowledge", 2, cp.admin)

    bodies = [p.json() for p in pages]
    assert [[v["version"] for v in b["versions"]] for b in bodies] == [[1, 2], [3, 4], [5]]
    assert [b["next_cursor"] for b in bodies] == [_next(p) for p in pages]
    assert bodies[-1]["next_cursor"] is None
    assert {b["published_version"] for b in bodies} == {2}
    assert [v["published"] for b in bodies for v in b["versions"]] == [
        False, True, False, False, False,
    ]  # fmt: skip
    # Without a limit every version fits the default page, as before.
    whole = (await cp.client.get("/v1/tenants/acme/knowledge", headers=cp.admin)).json()
    assert ([v["version"] for v in whole["versions"]], whole["next_cursor"]) == (
        [1, 2, 3, 4, 5],
        None,
    )
    # Flows page the same way.
    for label in ("one", "two", "three"):
        assert (await cp.upload_flow("acme", label)).status_code == 201
    flows = await _all_pages(cp, "/v1/tenants/acme/flows", 2, cp.admin)
    assert [[v["version"] for v in p.json()["versions"]] for p in flows] == [[1, 2], [3]]


def _cursor(*value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(value)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("limit", ["0", "-1", "501", "ten", "1.5", ""])
async def test_a_bad_limit_is_a_422_naming_it(cp: ControlPlane, limit: str) -> None:
    await cp.create_tenant("acme")
    for path in ("/v1/tenants", "/v1/tenants/acme/flows", "/v1/tenants/acme/knowledge"):
        answer = await cp.client.get(path, params={"limit": limit}, headers=cp.admin)
        assert answer.status_code == 422, (path, answer.text)
        assert [e["loc"] for e in answer.json()["detail"]] == [["query", "limit"]]


async def test_a_cursor_that_is_not_one_is_a_422_naming_it(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    tenants_cursor = _next(
        await cp.client.get("/v1/tenants", params={"limit": 1}, headers=cp.admin)
    ) or _cursor("tenants", "acme")
    for path, cursor, listing in (
        ("/v1/tenants", "not-a-cursor!", "tenants"),
        ("/v1/tenants", "é", "tenants"),
        ("/v1/tenants", _cursor("tenants", "Bad Id"), "tenants"),
        ("/v1/tenants", _cursor("tenants", 3), "tenants"),
        ("/v1/tenants", _cursor("flow versions", 3), "tenants"),
        ("/v1/tenants/acme/flows", tenants_cursor, "flow versions"),
        ("/v1/tenants/acme/flows", _cursor("flow versions", True), "flow versions"),
        ("/v1/tenants/acme/knowledge", _cursor("knowledge versions", 2**31), "knowledge versions"),
        ("/v1/tenants/acme/knowledge", _cursor("knowledge versions", 0), "knowledge versions"),
    ):
        answer = await cp.client.get(path, params={"cursor": cursor}, headers=cp.admin)
        assert answer.status_code == 422, (path, cursor, answer.text)
        assert answer.json()["detail"].startswith(f"cursor: not a cursor of the {listing} list")
    too_long = await cp.client.get("/v1/tenants", params={"cursor": "a" * 201}, headers=cp.admin)
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["loc"] == ["query", "cursor"]
