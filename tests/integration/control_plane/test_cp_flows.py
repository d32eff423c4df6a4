"""Flows: validated uploads (errors with line numbers), numbering, publish, rollback, diff."""

from __future__ import annotations

from cp_harness import TINY_FLOW, ControlPlane

BROKEN_FLOW = """\
id: broken
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: hi
    transitions:
      - on_payload: go
        target: NOWHERE
    fallback: MENU
"""


async def test_invalid_flow_is_refused_with_every_issue_and_its_line(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    response = await cp.client.post(
        "/v1/tenants/acme/flows",
        content=BROKEN_FLOW,
        headers={**cp.admin, "Content-Type": "text/yaml"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "the flow has 1 error(s)"
    [issue] = [e for e in body["errors"] if e["severity"] == "error"]
    assert issue["line"] == 10
    assert issue["path"] == "states.MENU.transitions[0].target"
    assert "NOWHERE" in issue["message"]
    listed = await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)
    assert listed.json()["versions"] == []


async def test_yaml_syntax_error_reports_its_line(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    response = await cp.client.post(
        "/v1/tenants/acme/flows", json={"yaml": "id: x\nstates: [unclosed\n"}, headers=cp.admin
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["line"] is not None


async def test_versions_are_numbered_and_immutable(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    first = await cp.upload_flow("acme", "one")
    second = await cp.client.post(
        "/v1/tenants/acme/flows", json={"yaml": TINY_FLOW.format(v="two")}, headers=cp.admin
    )
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    assert first.json()["flow_id"] == "tiny_flow"
    assert first.json()["published"] is False
    v1 = await cp.client.get("/v1/tenants/acme/flows/1", headers=cp.admin)
    assert "version one" in v1.json()["yaml"]
    listed = (await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)).json()
    assert listed["published_version"] is None
    assert [v["version"] for v in listed["versions"]] == [1, 2]
    missing = await cp.client.get("/v1/tenants/acme/flows/3", headers=cp.admin)
    assert missing.status_code == 404


async def test_publish_then_rollback_is_audited(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    for label in ("one", "two", "three"):
        await cp.upload_flow("acme", label)
    await cp.client.post("/v1/tenants/acme/flows/2/publish", headers=cp.admin)
    published = await cp.client.post("/v1/tenants/acme/flows/3/publish", headers=cp.admin)
    assert published.json()["published"] is True
    # Without a version: the one published before (2), not a draft.
    back = await cp.client.post("/v1/tenants/acme/flows/rollback", headers=cp.admin)
    assert back.status_code == 200
    assert back.json()["version"] == 2
    explicit = await cp.client.post(
        "/v1/tenants/acme/flows/rollback", json={"version": 1}, headers=cp.admin
    )
    assert explicit.json()["version"] == 1
    forward = await cp.client.post(
        "/v1/tenants/acme/flows/rollback", json={"version": 3}, headers=cp.admin
    )
    assert forward.status_code == 409
    first = await cp.client.post("/v1/tenants/acme/flows/rollback", headers=cp.admin)
    assert first.status_code == 409
    tenant = (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).json()
    assert tenant["published_flow_version"] == 1
    audit = (
        await cp.client.get("/v1/audit", params={"tenant_id": "acme"}, headers=cp.admin)
    ).json()
    actions = [(e["action"], e["target"]) for e in reversed(audit)]
    assert ("flow.publish", "3") in actions
    assert actions[-2:] == [("flow.rollback", "2"), ("flow.rollback", "1")]
    assert all(e["actor"] == "admin" for e in audit)


async def test_rollback_to_a_version_that_does_not_exist_is_404(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    missing = await cp.client.post(
        "/v1/tenants/acme/flows/rollback", json={"version": 99}, headers=cp.admin
    )
    assert missing.status_code == 404, missing.text
    assert "99" in missing.json()["detail"]
    assert "publish" not in missing.json()["detail"]


async def test_upload_with_publish_and_diff(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    await cp.upload_flow("acme", "two")
    diff = await cp.client.get(
        "/v1/tenants/acme/flows/diff", params={"from": 1, "to": 2}, headers=cp.admin
    )
    assert diff.status_code == 200
    assert diff.headers["content-type"].startswith("text/plain")
    assert '-        text: "Hello from version one"' in diff.text
    assert '+        text: "Hello from version two"' in diff.text
    assert diff.text.startswith("--- flow@v1\n+++ flow@v2\n")
    same = await cp.client.get(
        "/v1/tenants/acme/flows/diff", params={"from": 2, "to": 2}, headers=cp.admin
    )
    assert same.text == ""


async def test_upload_refuses_unknown_media_type_and_oversized_flows(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    wrong = await cp.client.post(
        "/v1/tenants/acme/flows",
        content=b"<xml/>",
        headers={**cp.admin, "Content-Type": "text/xml"},
    )
    assert wrong.status_code == 415
    assert "application/yaml" in wrong.json()["detail"]
    huge = "# " + "x" * (600 * 1024)
    too_big = await cp.client.post(
        "/v1/tenants/acme/flows", content=huge, headers={**cp.admin, "Content-Type": "text/yaml"}
    )
    assert too_big.status_code == 413
    bad_json = await cp.client.post(
        "/v1/tenants/acme/flows", json={"yml": "typo"}, headers=cp.admin
    )
    assert bad_json.status_code == 422
    assert "yaml" in bad_json.json()["detail"]


async def test_tenant_key_manages_its_own_flows(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    key = await cp.tenant_key("acme")
    response = await cp.client.post(
        "/v1/tenants/acme/flows?publish=true",
        content=TINY_FLOW.format(v="mine"),
        headers={**cp.auth(key), "Content-Type": "application/x-yaml"},
    )
    assert response.status_code == 201
    assert response.json()["created_by"].startswith("apikey:")


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


async def test_a_flow_calling_an_unbound_connector_is_not_published(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    upload = await cp.client.post(
        "/v1/tenants/acme/flows", json={"yaml": CALLS_CALENDAR}, headers=cp.admin
    )
    assert upload.status_code == 201, upload.text  # stored: the binding may come later
    refused = await cp.client.post("/v1/tenants/acme/flows/1/publish", headers=cp.admin)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "states.MENU.on_enter[0] calls 'calendar'" in detail
    listed = (await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)).json()
    assert listed["published_version"] is None

    bound = await cp.client.patch(
        "/v1/tenants/acme",
        json={"connectors": {"calendar": {"type": "mock_calendar", "timezone": "Europe/Madrid"}}},
        headers=cp.admin,
    )
    assert bound.status_code == 200, bound.text
    published = await cp.client.post("/v1/tenants/acme/flows/1/publish", headers=cp.admin)
    assert published.status_code == 200, published.text
    assert published.json()["published"] is True

    # ...and once published, the binding it calls cannot be dropped from under it.
    dropped = await cp.client.patch("/v1/tenants/acme", json={"connectors": {}}, headers=cp.admin)
    assert dropped.status_code == 409
    assert "states.MENU.on_enter[0] calls 'calendar'" in dropped.json()["detail"]
    tenant = (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).json()
    assert "calendar" in tenant["connectors"]


async def test_an_upload_whose_publish_is_refused_stores_nothing(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    refused = await cp.client.post(
        "/v1/tenants/acme/flows?publish=true", json={"yaml": CALLS_CALENDAR}, headers=cp.admin
    )
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert detail.startswith("the flow was not stored:")
    assert "states.MENU.on_enter[0] calls 'calendar'" in detail
    listed = (await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)).json()
    assert listed == {"published_version": None, "versions": [], "next_cursor": None}
    audit = (await cp.client.get("/v1/audit?tenant_id=acme", headers=cp.admin)).json()
    assert not [e for e in audit if e["action"].startswith("flow.")]
    # The refused upload took no version number.
    kept = await cp.client.post(
        "/v1/tenants/acme/flows", json={"yaml": CALLS_CALENDAR}, headers=cp.admin
    )
    assert kept.status_code == 201 and kept.json()["version"] == 1
