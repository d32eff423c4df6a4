"""What a key's role keeps from it beyond the route table (`api/access.py`): an expiring key
may not mint the never-expiring boot token; viewers see no contacts' data (tasks,
conversations, the status's pending jobs) nor credential and key names in the audit log; an
editor may not change the flow's conversation retention; and any key may revoke itself. On
SQLite and PostgreSQL (when reachable)."""

from __future__ import annotations

from typing import Any

import httpx
from cp_harness import ControlPlane, Database, make_settings, running_control_plane

T = "/v1/tenants/acme"
KEYS = f"{T}/api-keys"


async def _key(cp: ControlPlane, by: str | None = None, **fields: Any) -> dict[str, Any]:
    headers = cp.admin if by is None else cp.auth(by)
    response = await cp.client.post(KEYS, json={"name": "k", **fields}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --- 1. The boot token outlives no key -------------------------------------------------------


async def test_an_expiring_owner_key_may_not_rotate_the_boot_token(cp: ControlPlane) -> None:
    """The finding: the token it minted kept reading the credentials after it was revoked."""
    token = await cp.create_tenant("acme")
    assert (await cp.upload_flow("acme", publish=True)).status_code == 201
    temp = await _key(cp, name="temp", expires_in_days=1)
    refused = await cp.client.post(f"{T}/boot-token/rotate", headers=cp.auth(temp["key"]))
    assert refused.status_code == 403, refused.text
    expiry = temp["expires_at"].replace("+00:00", "Z")
    assert refused.json()["detail"] == (
        "rotating the boot token needs the admin key or an owner key without an expiry: this "
        f"key ({temp['id']}) expires at {expiry}, and the boot token never expires (it reads "
        "the tenant's credentials), so one it made would outlive it"
    )
    boot = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    assert boot.status_code == 200, "the boot token was left as it was"
    audit = (await cp.client.get("/v1/audit?action=boot_token.rotate", headers=cp.admin)).json()
    assert audit == []

    lasting = await _key(cp, name="lasting")
    rotated = await cp.client.post(f"{T}/boot-token/rotate", headers=cp.auth(lasting["key"]))
    assert rotated.status_code == 200, rotated.text
    by_admin = await cp.client.post(f"{T}/boot-token/rotate", headers=cp.admin)
    assert by_admin.status_code == 200, by_admin.text


# --- 2. Viewers see no contacts' data, nor what only the owner manages ----------------------


async def test_viewers_may_not_list_tasks_or_conversations(cp: ControlPlane) -> None:
    """Both hold contact ids (phone numbers), and the task list each job's data."""
    await cp.create_tenant("acme")
    viewer = cp.auth((await _key(cp, role="viewer"))["key"])
    editor = cp.auth((await _key(cp, role="editor"))["key"])
    for what, path in (("listing scheduled tasks", f"{T}/tasks"),
                       ("listing conversations", f"{T}/conversations")):  # fmt: skip
        refused = await cp.client.get(path, headers=viewer)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"].startswith(
            f"{what} needs a tenant API key with the editor role (or owner); this key"
        )
        # The editor passes the role check (no data plane here: it answers that instead).
        assert (await cp.client.get(path, headers=editor)).status_code != 403, path


TASKS = {
    "tasks": [{
        "job_id": "once:reminder-1", "kind": "one_off", "task": "reminder",
        "contact_id": "34600111222", "key": "reminder-1",
        "next_run_at": "2026-01-01T10:00:00Z", "data": {"name": "Ana"},
    }],
    "count": 1,
    "truncated": False,
}  # fmt: skip


def _data_plane(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/health":
        return httpx.Response(200, json={"status": "ok", "tenant_id": "acme"})
    if request.url.path == "/tasks":
        return httpx.Response(200, json=TASKS)
    return httpx.Response(404)


async def test_the_status_leaves_the_pending_jobs_out_for_a_viewer(database: Database) -> None:
    async with running_control_plane(make_settings(database), _data_plane) as cp:
        await cp.create_tenant("acme", data_plane_url="http://dp-acme:8002")
        viewer = cp.auth((await _key(cp, role="viewer"))["key"])
        editor = cp.auth((await _key(cp, role="editor"))["key"])
        seen = await cp.client.get(f"{T}/status", headers=viewer)
        assert seen.status_code == 200, seen.text
        body = seen.json()
        assert body["tasks"] is None
        assert body["errors"][-1] == (
            "GET /tasks: left out for a key with the viewer role (pending jobs name contacts "
            "and hold their data); listing them needs the editor role"
        )
        assert "34600111222" not in seen.text and "Ana" not in seen.text
        for headers in (editor, cp.admin):
            full = (await cp.client.get(f"{T}/status", headers=headers)).json()
            assert full["tasks"] == TASKS


async def test_the_audit_log_hides_credential_and_key_names_from_keys_below_owner(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("acme")
    owner = await _key(cp, name="agency-owner")
    put = await cp.client.put(
        f"{T}/credentials/llm", json={"api_key": "s3cret"},
        headers=cp.auth(owner["key"]),
    )  # fmt: skip
    assert put.status_code == 200, put.text
    viewer = await _key(cp, by=owner["key"], name="salon-viewer", role="viewer")
    editor = await _key(cp, by=owner["key"], name="salon-staff", role="editor")
    assert (await cp.upload_flow("acme", publish=True)).status_code == 201

    full = (await cp.client.get("/v1/audit", headers=cp.auth(owner["key"]))).json()
    for key in (viewer, editor):
        answer = await cp.client.get("/v1/audit", headers=cp.auth(key["key"]))
        assert answer.status_code == 200, answer.text
        entries = answer.json()
        assert [e["id"] for e in entries] == [e["id"] for e in full], "no entry left out"
        for seen, stored in zip(entries, full, strict=True):
            assert (seen["action"], seen["actor"], seen["at"]) == (
                stored["action"], stored["actor"], stored["at"]
            )  # fmt: skip
            if seen["action"].startswith(("credentials.", "api_key.")):
                assert (seen["target"], seen["details"]) == ("", {}), seen
            else:
                assert seen == stored
        for name in ("agency-owner", "salon-viewer", "salon-staff"):
            assert name not in answer.text, name
        assert viewer["id"] not in answer.text and editor["id"] not in answer.text
    # The owner and the admin see the entries whole; the stored ones were left as they were.
    assert (await cp.client.get("/v1/audit", headers=cp.auth(owner["key"]))).json() == full
    assert {(e["action"], e["target"]) for e in full} >= {
        ("credentials.put", "llm"),
        ("api_key.create", viewer["id"]),
    }


# --- 3. The conversation retention is the owner's -------------------------------------------


def _flow(label: str, retention: str | None = None) -> str:
    settings = "" if retention is None else f"settings:\n  conversation_retention: {retention}\n"
    return (
        f"id: tiny_flow\n{settings}initial_state: MENU\nstates:\n  MENU:\n    on_enter:\n"
        f'      - action: send_text\n        text: "v{label}"\n    fallback: MENU\n'
    )


async def _upload(
    cp: ControlPlane, headers: dict[str, str], text: str, *, publish: bool
) -> httpx.Response:
    return await cp.client.post(
        f"{T}/flows", params={"publish": str(publish).lower()}, content=text,
        headers={**headers, "Content-Type": "application/yaml"},
    )  # fmt: skip


async def _published(cp: ControlPlane) -> int | None:
    version: int | None = (await cp.client.get(T, headers=cp.admin)).json()[
        "published_flow_version"
    ]
    return version


def _refusal(live: str, new: str, key_id: str) -> str:
    return (
        f"changing the flow's settings.conversation_retention (live: {live}; this version: "
        f"{new}) needs a tenant API key with the owner role, or the admin: it deletes the "
        "conversations of contacts silent for longer, as erasing a contact's data does; this "
        f"key ({key_id}) has the editor role. Publish a version with the live flow's "
        f"retention ({live}), or ask the tenant's owner to publish this one"
    )


async def test_an_editor_may_not_change_the_conversation_retention(cp: ControlPlane) -> None:
    """The finding: an editor publishing `conversation_retention: 1d` erased every contact
    silent for a day, which only an owner may do."""
    await cp.create_tenant("acme")
    editor = await _key(cp, name="staff", role="editor")
    owner = cp.auth((await _key(cp, name="owner"))["key"])
    staff = cp.auth(editor["key"])

    # A first flow setting one: refused, and not stored.
    first = await _upload(cp, staff, _flow("1", "1d"), publish=True)
    assert first.status_code == 403, first.text
    assert first.json()["detail"] == _refusal("none", "'1d'", editor["id"])
    assert (await cp.client.get(f"{T}/flows", headers=cp.admin)).json()["versions"] == []
    # Without one, the editor publishes.
    assert (await _upload(cp, staff, _flow("1"), publish=True)).status_code == 201
    # A draft changes nothing live: stored; publishing it is refused, the owner's is not.
    draft = await _upload(cp, staff, _flow("2", "1d"), publish=False)
    assert draft.status_code == 201, draft.text
    publish = await cp.client.post(f"{T}/flows/2/publish", headers=staff)
    assert publish.status_code == 403
    assert publish.json()["detail"] == _refusal("none", "'1d'", editor["id"])
    assert await _published(cp) == 1
    assert (await cp.client.post(f"{T}/flows/2/publish", headers=owner)).status_code == 200
    # The same retention written otherwise is no change; another, or none, is.
    assert (await _upload(cp, staff, _flow("3", "24h"), publish=True)).status_code == 201
    for text, said in ((_flow("4", "180d"), "'180d'"), (_flow("5"), "none")):
        refused = await _upload(cp, staff, text, publish=True)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == _refusal("'24h'", said, editor["id"])
    assert await _published(cp) == 3
    # Rolling back to version 1 (no retention) would change it too.
    back = await cp.client.post(f"{T}/flows/rollback", json={"version": 1}, headers=staff)
    assert back.status_code == 403
    assert back.json()["detail"] == _refusal("'24h'", "none", editor["id"])
    assert await _published(cp) == 3
    # The admin may.
    rolled = await cp.client.post(f"{T}/flows/rollback", json={"version": 1}, headers=cp.admin)
    assert rolled.status_code == 200, rolled.text
    assert await _published(cp) == 1


# --- 4. Any key may revoke itself ------------------------------------------------------------


async def test_a_viewer_or_editor_key_revokes_itself_and_no_other(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    owner = await _key(cp, name="owner")
    for role in ("viewer", "editor"):
        key = await _key(cp, by=owner["key"], name=role, role=role)
        other = await _key(cp, by=owner["key"], name=f"other {role}", role="viewer")
        for target in (other["id"], owner["id"], "0123456789ab"):
            refused = await cp.client.delete(f"{KEYS}/{target}", headers=cp.auth(key["key"]))
            assert refused.status_code == 403, refused.text
            assert refused.json()["detail"] == (
                f"a key with the {role} role may revoke only itself, not API key {target}: "
                "revoking another key needs the owner role (ask the tenant's owner or the "
                "admin)"
            )
        itself = await cp.client.delete(f"{KEYS}/{key['id']}", headers=cp.auth(key["key"]))
        assert itself.status_code == 204, itself.text
        assert (await cp.client.get(T, headers=cp.auth(key["key"]))).status_code == 401
        assert (await cp.client.get(T, headers=cp.auth(other["key"]))).status_code == 200
    assert (await cp.client.get(T, headers=cp.auth(owner["key"]))).status_code == 200
