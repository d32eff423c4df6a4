"""ControlPlaneClient: errors never show a `user:password@` written in the control plane's
URL; paginated lists are followed to their last page; the conversations are asked a page at a
time, after a cursor."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from botfleet.control_plane.client import (
    ControlPlaneAPIError,
    ControlPlaneClient,
    ControlPlaneConnectionError,
    mask_url,
)

URL = "http://ops:hunter2@cp.example:8001"


def _refuse(request: httpx.Request) -> httpx.Response:
    # httpx puts the request URL, userinfo included, in some messages (e.g. proxies, TLS).
    raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)


@pytest.mark.parametrize("call", ["health", "list_tenants"])
def test_a_connection_error_masks_the_password_in_the_url(call: str) -> None:
    with ControlPlaneClient(URL, "admin-key", transport=httpx.MockTransport(_refuse)) as client:
        with pytest.raises(ControlPlaneConnectionError) as caught:
            getattr(client, call)()
    error = caught.value
    assert "hunter2" not in str(error) and "ops" not in str(error)
    assert "hunter2" not in error.url + error.reason
    assert error.url == "http://***@cp.example:8001"
    assert "cannot reach the control plane at http://***@cp.example:8001" in str(error)
    assert "http://***@cp.example:8001/" in error.reason


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("http://u:p@h/x", "http://***@h/x"),
        ("https://u:p%40q@h:1 and http://plain/", "https://***@h:1 and http://plain/"),
        ("http://u:p@ss@h/", "http://***@h/"),  # a raw "@" in the password
        ("no url here: a@b", "no url here: a@b"),
    ],
)
def test_mask_url(text: str, masked: str) -> None:
    assert mask_url(text) == masked


def _paged_tenants(prefix: str, seen: list[httpx.URL]) -> httpx.MockTransport:
    """Three pages of tenants; each Link names the path as the server sees it (no prefix)."""
    pages = {None: (["a", "b"], "c1"), "c1": (["c", "d"], "c2"), "c2": (["e"], None)}

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        assert request.url.path == f"{prefix}/v1/tenants"
        ids, following = pages[request.url.params.get("cursor")]
        body = [_tenant(i) for i in ids]
        headers = {}
        if following is not None:
            headers["Link"] = f'</v1/tenants?limit=2&cursor={following}>; rel="next"'
        return httpx.Response(200, json=body, headers=headers)

    return httpx.MockTransport(handle)


def _tenant(tenant_id: str) -> dict[str, object]:
    return {
        "id": tenant_id, "name": tenant_id, "timezone": "UTC", "language": "en",
        "status": "active", "channel": {"type": "http_dev"}, "connectors": {}, "llm": {},
        "data_plane_url": None, "published_flow_version": None,
        "published_knowledge_version": None, "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }  # fmt: skip


def test_list_tenants_follows_every_page_on_its_own_base_url() -> None:
    """Only the cursor is taken from the Link: behind a proxy path prefix the control plane's
    own path would miss the prefix."""
    seen: list[httpx.URL] = []
    transport = _paged_tenants("/cp", seen)
    with ControlPlaneClient("http://proxy.example/cp", "k", transport=transport) as client:
        tenants = client.list_tenants(page_size=2)
    assert [t.id for t in tenants] == ["a", "b", "c", "d", "e"]
    assert [u.params.get("cursor") for u in seen] == [None, "c1", "c2"]
    assert {u.params.get("limit") for u in seen} == {"2"}


def test_a_cursor_given_twice_stops_the_listing() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        link = '</v1/tenants?cursor=same>; rel="next"'
        return httpx.Response(200, json=[_tenant("a")], headers={"Link": link})

    with ControlPlaneClient("http://cp", "k", transport=httpx.MockTransport(handle)) as client:
        with pytest.raises(ControlPlaneAPIError, match="same next page twice"):
            client.list_tenants()


def test_list_flows_joins_the_pages_by_next_cursor() -> None:
    def version(n: int) -> dict[str, object]:
        return {
            "version": n, "sha256": "0" * 64, "created_at": "2026-01-01T00:00:00Z",
            "created_by": "admin", "published": n == 2, "flow_id": "f", "warnings": [],
        }  # fmt: skip

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") is None:
            body = {"published_version": 2, "versions": [version(1)], "next_cursor": "n1"}
        else:
            body = {"published_version": 2, "versions": [version(2)], "next_cursor": None}
        return httpx.Response(200, json=body)

    with ControlPlaneClient("http://cp", "k", transport=httpx.MockTransport(handle)) as client:
        listed = client.list_flows("acme")
    assert [v.version for v in listed.versions] == [1, 2]
    assert (listed.published_version, listed.next_cursor) == (2, None)


def test_list_conversations_asks_for_the_page_before_a_cursor() -> None:
    seen: list[httpx.URL] = []
    listed = {"conversations": [], "count": 0, "truncated": True, "next": "WyJjb252In0"}

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json=listed)

    since = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
    with ControlPlaneClient(URL, "key", transport=httpx.MockTransport(handle)) as client:
        page = client.list_conversations("acme", active_since=since, limit=2, before="WyJhIl0")
        first = client.list_conversations("acme")

    assert seen[0].path == "/v1/tenants/acme/conversations"
    assert dict(seen[0].params) == {
        "active_since": "2024-05-06T07:00:00+00:00",
        "limit": "2",
        "before": "WyJhIl0",
    }
    assert dict(seen[1].params) == {}
    assert (page.truncated, page.next) == (True, "WyJjb252In0")
    assert first.next == "WyJjb252In0"


def test_a_refused_uploads_issues_mark_the_warnings() -> None:
    """An upload's 422 lists every issue, warnings too: the error that refused it stands out."""
    error = ControlPlaneAPIError(
        422,
        "the flow has 1 error(s)",
        [
            {"line": 4, "path": "states.A.next", "message": "unknown state 'B'",
             "severity": "error"},
            {"line": 7, "path": "states.A.on_enter[0].text", "message": "`tenant.keys()` fails",
             "severity": "warning"},
        ],
    )  # fmt: skip
    assert str(error).splitlines() == [
        "HTTP 422: the flow has 1 error(s)",
        "  line 4: states.A.next: unknown state 'B'",
        "  line 7: states.A.on_enter[0].text: [warning] `tenant.keys()` fails",
    ]
