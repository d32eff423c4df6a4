"""Roles of tenant API keys (viewer, editor, owner): every route refuses a key below the role
its entry in `api/access.py` names (403 naming it) and lets the others through; a key makes
keys of at most its role that expire no later than itself; a tenant key may not revoke a key
the admin made, and one below owner only itself. On SQLite and PostgreSQL (when reachable)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cp_harness import ControlPlane

from botfleet.control_plane.api.access import ROUTE_ACCESS, Gate
from botfleet.control_plane.errors import PermissionDenied
from botfleet.control_plane.principals import Principal, Role
from botfleet.control_plane.services import identity

KEYS = "/v1/tenants/acme/api-keys"
REVOKE = ("DELETE", "/v1/tenants/{tenant_id}/api-keys/{key_id}")


async def _key(cp: ControlPlane, by: str | None = None, **fields: Any) -> dict[str, Any]:
    """A new key of acme, made with the admin key or with the key `by`."""
    headers = cp.admin if by is None else cp.auth(by)
    response = await cp.client.post(KEYS, json={"name": "k", **fields}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _url(template: str, values: dict[str, str]) -> str:
    """The path with `values` in it; a parameter without one gets ``1`` (the role check does
    not look at it, and a route that does answers 404 or 422, never 403)."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), template)


async def _setup(cp: ControlPlane) -> dict[str, str]:
    await cp.create_tenant("acme")
    assert (await cp.upload_flow("acme", publish=True)).status_code == 201
    put = await cp.client.put(
        "/v1/tenants/acme/credentials/llm", json={"api_key": "s3cret"}, headers=cp.admin
    )
    assert put.status_code == 200, put.text
    return {"tenant_id": "acme", "version": "1", "scope": "llm", "contact_id": "34600111222"}


async def test_each_route_refuses_a_key_below_its_role_naming_the_role(cp: ControlPlane) -> None:
    values = await _setup(cp)
    keys = {role: (await _key(cp, role=role.value))["key"] for role in Role}
    owner = keys[Role.OWNER]
    # The owner's walk revokes a key of its own making (an admin-made one it may not).
    values["key_id"] = (await _key(cp, by=owner, role="viewer"))["id"]
    spec = (await cp.client.get("/openapi.json")).json()
    walked: set[tuple[str, str]] = set()
    # Deletions last, so the reads and changes run against the tenant as set up.
    operations = sorted(
        ((method.upper(), path) for path, item in spec["paths"].items() for method in item),
        key=lambda op: op[0] == "DELETE",
    )
    for method, path in operations:
        access = ROUTE_ACCESS[(method, path)]
        if access.needs in (Gate.PUBLIC, Gate.BOOT_TOKEN):
            continue
        walked.add((method, path))
        for role, key in keys.items():
            # No body: a key the route refuses is refused before its body is read.
            answer = await cp.client.request(method, _url(path, values), headers=cp.auth(key))
            where = f"{method} {path} with a {role} key: {answer.status_code} {answer.text}"
            body = answer.json() if answer.content else None
            detail = body.get("detail") if isinstance(body, dict) else None
            if access.needs is Gate.ADMIN:
                assert answer.status_code == 403, where
                assert detail == f"{access.what} needs the admin API key", where
            elif (method, path) == REVOKE and role is not Role.OWNER:
                # Open to every key so that it may revoke itself; another key is the owner's.
                assert answer.status_code == 403, where
                assert isinstance(detail, str) and "may revoke only itself" in detail, where
            elif role.covers(Role(access.needs)):
                assert answer.status_code != 403, where
            else:
                assert answer.status_code == 403, where
                assert isinstance(detail, str) and detail.startswith(
                    f"{access.what} needs a tenant API key with the {access.needs} role"
                ), where
                assert f"has the {role} role" in detail, where
    no_key = (Gate.PUBLIC, Gate.BOOT_TOKEN)
    key_routes = {key for key, access in ROUTE_ACCESS.items() if access.needs not in no_key}
    assert walked == key_routes - {("GET", "/metrics")}, "the spec and the table disagree"


async def test_a_viewer_reads_but_changes_nothing_and_an_editor_publishes(
    cp: ControlPlane,
) -> None:
    """The walk above with real requests: what the agency hands a business."""
    await _setup(cp)
    viewer = cp.auth((await _key(cp, name="ro", role="viewer"))["key"])
    editor = cp.auth((await _key(cp, name="staff", role="editor"))["key"])
    for path in ("/v1/tenants/acme", "/v1/tenants/acme/flows", "/v1/tenants/acme/flows/1",
                 "/v1/audit"):  # fmt: skip
        assert (await cp.client.get(path, headers=viewer)).status_code == 200, path
    for path in (KEYS, "/v1/tenants/acme/credentials", "/v1/tenants/acme/export"):
        refused = await cp.client.get(path, headers=viewer)
        assert refused.status_code == 403, path
        assert "needs a tenant API key with the owner role" in refused.json()["detail"]
    upload = await cp.client.post(
        "/v1/tenants/acme/flows?publish=true",
        json={"yaml": "id: f\ninitial_state: A\nstates:\n  A:\n    fallback: A\n"},
        headers=viewer,
    )
    assert upload.status_code == 403
    assert upload.json()["detail"].startswith(
        "uploading a flow needs a tenant API key with the editor role (or owner); this key"
    )
    published = await cp.client.post(
        "/v1/tenants/acme/flows?publish=true",
        json={"yaml": "id: f\ninitial_state: A\nstates:\n  A:\n    fallback: A\n"},
        headers=editor,
    )
    assert published.status_code == 201, published.text
    rotate = await cp.client.post("/v1/tenants/acme/boot-token/rotate", headers=editor)
    assert rotate.status_code == 403
    put = await cp.client.put(
        "/v1/tenants/acme/credentials/llm", json={"api_key": "stolen"}, headers=editor
    )
    assert put.status_code == 403
    boot = await cp.client.get("/v1/tenants/acme", headers=cp.admin)
    assert boot.json()["published_flow_version"] == 2


async def test_keys_default_to_owner_and_the_list_shows_role_maker_and_expiry(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("acme")
    agency = await _key(cp, name="agency")
    business = await _key(cp, by=agency["key"], name="business", role="editor",
                          expires_in_days=30)  # fmt: skip
    assert (agency["role"], agency["created_by"], agency["expires_at"]) == ("owner", "admin", None)
    assert (business["role"], business["created_by"]) == ("editor", f"apikey:{agency['id']}")
    listed = (await cp.client.get(KEYS, headers=cp.auth(agency["key"]))).json()
    assert [(k["name"], k["role"], k["created_by"]) for k in listed] == [
        ("agency", "owner", "admin"),
        ("business", "editor", f"apikey:{agency['id']}"),
    ]
    assert listed[1]["expires_at"] == business["expires_at"] is not None
    for row in listed:
        assert "key" not in row and "key_hash" not in row
    assert agency["key"] not in str(listed) and business["key"] not in str(listed)

    refused = await cp.client.post(KEYS, json={"name": "ro", "role": "read"}, headers=cp.admin)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "role"]


async def test_key_creation_and_revocation_are_audited_with_the_role(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    owner = await _key(cp, name="owner")
    made = await _key(cp, by=owner["key"], name="ro", role="viewer")
    revoked = await cp.client.delete(f"{KEYS}/{made['id']}", headers=cp.auth(owner["key"]))
    assert revoked.status_code == 204, revoked.text
    audit = (await cp.client.get("/v1/audit?tenant_id=acme", headers=cp.admin)).json()
    entries = [(e["action"], e["actor"], e["target"], e["details"]) for e in audit
               if e["action"].startswith("api_key.")]  # fmt: skip
    assert entries == [
        ("api_key.revoke", f"apikey:{owner['id']}", made["id"], {"name": "ro", "role": "viewer"}),
        ("api_key.create", f"apikey:{owner['id']}", made["id"],
         {"name": "ro", "role": "viewer", "expires_at": None}),
        ("api_key.create", "admin", owner["id"],
         {"name": "owner", "role": "owner", "expires_at": None}),
    ]  # fmt: skip


def _in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "expires_at"),  # no expiry: it would outlive its maker
        ({"expires_in_days": 31}, "expires_in_days"),
        ({"expires_at": "IN_40_DAYS"}, "expires_at"),
    ],
)
async def test_a_key_cannot_make_one_that_outlives_it(
    cp: ControlPlane, fields: dict[str, Any], field: str
) -> None:
    await cp.create_tenant("acme")
    maker = await _key(cp, name="month", expires_in_days=30)
    body = {"name": "forever", **{k: _in_days(40) if v == "IN_40_DAYS" else v
                                  for k, v in fields.items()}}  # fmt: skip
    refused = await cp.client.post(KEYS, json=body, headers=cp.auth(maker["key"]))
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["detail"]
    assert problem["loc"] == ["body", field]
    limit = maker["expires_at"].replace("+00:00", "Z")
    assert limit in problem["msg"] and "the key making this one expires" in problem["msg"]
    listed = (await cp.client.get(KEYS, headers=cp.admin)).json()
    assert [k["name"] for k in listed] == ["month"], "no key was made"


async def test_a_key_makes_keys_expiring_by_its_own_expiry_and_the_admin_any(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("acme")
    maker = await _key(cp, name="month", expires_in_days=30)
    sooner = await _key(cp, by=maker["key"], name="week", expires_in_days=7)
    same = await _key(cp, by=maker["key"], name="same", expires_at=maker["expires_at"])
    assert sooner["expires_at"] < maker["expires_at"] == same["expires_at"]
    # The admin, and a key without an expiry, may make keys without one.
    assert (await _key(cp, name="forever"))["expires_at"] is None
    forever = await _key(cp, name="forever-owner")
    assert (await _key(cp, by=forever["key"], name="child"))["expires_at"] is None


async def test_a_tenant_key_cannot_revoke_the_admins_keys_but_its_own_and_its_makings(
    cp: ControlPlane,
) -> None:
    """The finding: the business's key revoked the agency's admin-made key."""
    await cp.create_tenant("acme")
    agency = await _key(cp, name="agency")
    business = await _key(cp, name="business")
    refused = await cp.client.delete(f"{KEYS}/{agency['id']}", headers=cp.auth(business["key"]))
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"API key {agency['id']} ('agency') was made with the admin key: only the admin may "
        "revoke it"
    )
    still = await cp.client.get("/v1/tenants/acme", headers=cp.auth(agency["key"]))
    assert still.status_code == 200, "the agency's key still works"

    staff = await _key(cp, by=business["key"], name="staff", role="editor")
    gone = await cp.client.delete(f"{KEYS}/{staff['id']}", headers=cp.auth(business["key"]))
    assert gone.status_code == 204
    assert (await cp.client.get("/v1/tenants/acme", headers=cp.auth(staff["key"]))).status_code \
        == 401  # fmt: skip
    # A leaked admin-made key need not wait for the admin: it may revoke itself.
    itself = await cp.client.delete(f"{KEYS}/{business['id']}", headers=cp.auth(business["key"]))
    assert itself.status_code == 204
    assert (await cp.client.get(KEYS, headers=cp.auth(business["key"]))).status_code == 401
    # The admin revokes anything.
    assert (await cp.client.delete(f"{KEYS}/{agency['id']}", headers=cp.admin)).status_code == 204


async def _service_call(cp: ControlPlane, call: Any) -> Any:
    container = cp.app.state.container
    async with container.uow() as uow:
        return await call(uow)


async def test_the_service_refuses_a_higher_role_on_making_and_revoking(cp: ControlPlane) -> None:
    """Only owners reach the route making keys today; the service keeps the rules for any
    role, so a route opened to editors later cannot hand out owner keys. Revoking is open to
    every key, for itself only unless it is an owner's."""
    await cp.create_tenant("acme")
    owner = await _key(cp, name="owner")
    higher = await _key(cp, by=owner["key"], name="owner2")
    editor = Principal(kind="tenant", tenant_id="acme", key_id="0123456789ab", role=Role.EDITOR)

    with pytest.raises(PermissionDenied) as made:
        await _service_call(
            cp, lambda uow: identity.create_api_key(uow, editor, "acme", "x", role=Role.OWNER)
        )
    assert str(made.value) == (
        "a key with the editor role cannot make one with the owner role: a key makes keys of "
        "at most its own role (ask the tenant's owner or the admin)"
    )
    row, _ = await _service_call(
        cp, lambda uow: identity.create_api_key(uow, editor, "acme", "y", role=Role.VIEWER)
    )
    assert (row.role, row.created_by) == ("viewer", "apikey:0123456789ab")

    with pytest.raises(PermissionDenied) as revoked:
        await _service_call(
            cp, lambda uow: identity.revoke_api_key(uow, editor, "acme", higher["id"])
        )
    assert str(revoked.value) == (
        f"a key with the editor role may revoke only itself, not API key {higher['id']}: "
        "revoking another key needs the owner role (ask the tenant's owner or the admin)"
    )
    listed = {k["name"]: k for k in (await cp.client.get(KEYS, headers=cp.admin)).json()}
    assert listed["owner2"]["revoked_at"] is None


async def test_a_key_below_the_role_is_refused_before_the_body_is_validated(
    cp: ControlPlane,
) -> None:
    """A refused key learns nothing from validation: 403, not 422, for a bad body."""
    await cp.create_tenant("acme")
    viewer = cp.auth((await _key(cp, role="viewer"))["key"])
    for path, body in ((KEYS, {"role": "nope", "extra": 1}),
                       ("/v1/tenants/acme/knowledge", {"text": 5})):  # fmt: skip
        response = await cp.client.post(path, json=body, headers=viewer)
        assert response.status_code == 403, response.text
