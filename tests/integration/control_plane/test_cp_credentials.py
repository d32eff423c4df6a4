"""Credentials: encrypted at rest, never in a response or a log line, merged only into boot."""

from __future__ import annotations

import logging

import httpx
import pytest
from cp_harness import (
    ADMIN_KEY,
    FERNET_KEY,
    ControlPlane,
    Database,
    make_settings,
    running_control_plane,
)
from cryptography.fernet import Fernet
from sqlalchemy import text

from botfleet.control_plane.maintenance import rotate_encryption_keys

SECRETS = {
    "channel": {
        "access_token": "EAA-channel-secret-111",
        "app_secret": "app-secret-222",
        "verify_token": "verify-secret-555",
    },
    "connector:calendar": {"password": "caldav-secret-333"},
    "llm": {"api_key": "sk-llm-secret-444"},
}
SECRET_VALUES = [v for scope in SECRETS.values() for v in scope.values()]


async def _setup(cp: ControlPlane) -> str:
    token = await cp.create_tenant(
        "acme",
        channel={"type": "whatsapp", "phone_number_id": "42"},
        connectors={"calendar": {"type": "caldav", "url": "https://dav.example/cal"}},
        llm={"enabled": True, "provider": "anthropic"},
    )
    await cp.upload_flow("acme", publish=True)
    return token


async def test_secrets_are_never_returned_or_logged(
    cp: ControlPlane, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await _setup(cp)
    bodies = []
    for scope, values in SECRETS.items():
        put = await cp.client.put(
            f"/v1/tenants/acme/credentials/{scope}", json=values, headers=cp.admin
        )
        assert put.status_code == 200
        assert put.json()["key_names"] == sorted(values)
        bodies.append(put.text)
    listed = await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)
    assert [c["scope"] for c in listed.json()] == ["channel", "connector:calendar", "llm"]
    for path in ("/v1/audit", "/v1/tenants/acme", "/v1/tenants/acme/export", "/v1/tenants"):
        bodies.append((await cp.client.get(path, headers=cp.admin)).text)
    bodies.append(listed.text)
    # The boot payload is the one place they appear (decrypted for the data plane).
    boot = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    payload = boot.json()
    assert payload["channel"]["access_token"] == "EAA-channel-secret-111"
    assert payload["connectors"]["calendar"]["password"] == "caldav-secret-333"
    assert payload["llm"]["api_key"] == "sk-llm-secret-444"
    assert set(payload["secret_paths"]) == {
        "channel.access_token", "channel.app_secret", "channel.verify_token",
        "connectors.calendar.password", "llm.api_key",
    }  # fmt: skip

    logged = caplog.text + "".join(capsys.readouterr())
    assert "boot served" in caplog.text, "the logs were captured"
    for secret in [*SECRET_VALUES, token, ADMIN_KEY, FERNET_KEY]:
        assert secret not in logged
        for body in bodies:
            assert secret not in body


async def test_secrets_are_encrypted_at_rest(cp: ControlPlane) -> None:
    await _setup(cp)
    await cp.client.put("/v1/tenants/acme/credentials/llm", json=SECRETS["llm"], headers=cp.admin)
    async with cp.app.state.container.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT ciphertext FROM credentials"))).scalar_one()
        hashes = (await conn.execute(text("SELECT token_hash FROM boot_tokens"))).scalars().all()
    assert "sk-llm-secret-444" not in stored
    assert (
        Fernet(FERNET_KEY.encode()).decrypt(stored.encode()) == b'{"api_key":"sk-llm-secret-444"}'
    )
    assert all(len(h) == 64 for h in hashes)


async def test_bad_scopes_and_bodies_are_refused(cp: ControlPlane) -> None:
    await _setup(cp)
    for scope, body, status in (
        ("database", {"x": "y"}, 422),
        ("connector:Calendar", {"x": "y"}, 422),
        ("llm", {}, 422),
        ("llm", {"type": "anthropic"}, 422),
        ("llm", {"bad key": "y"}, 422),
    ):
        response = await cp.client.put(
            f"/v1/tenants/acme/credentials/{scope}", json=body, headers=cp.admin
        )
        assert response.status_code == status, (scope, body, response.text)
    missing = await cp.client.delete("/v1/tenants/acme/credentials/llm", headers=cp.admin)
    assert missing.status_code == 404


async def test_delete_removes_the_scope_from_boot(cp: ControlPlane) -> None:
    token = await _setup(cp)
    await cp.client.put("/v1/tenants/acme/credentials/llm", json=SECRETS["llm"], headers=cp.admin)
    deleted = await cp.client.delete("/v1/tenants/acme/credentials/llm", headers=cp.admin)
    assert deleted.status_code == 204
    boot = (await cp.client.get("/v1/boot/acme", headers=cp.auth(token))).json()
    assert "api_key" not in boot["llm"]
    assert boot["secret_paths"] == []


async def test_key_rotation_reencrypts_with_the_new_primary(database: Database) -> None:
    new_key = Fernet.generate_key().decode()
    async with running_control_plane(make_settings(database)) as cp:
        token = await _setup(cp)
        await cp.client.put(
            "/v1/tenants/acme/credentials/llm", json=SECRETS["llm"], headers=cp.admin
        )
    # Restart with the new key first and the old one still accepted, then rotate.
    rotated_settings = make_settings(database, fernet_keys=f"{new_key},{FERNET_KEY}")
    async with running_control_plane(rotated_settings) as cp:
        result = await cp.client.post("/v1/admin/rotate-keys", headers=cp.admin)
        assert result.json() == {"rotated": 1, "skipped": []}
        async with cp.app.state.container.engine.connect() as conn:
            stored = (await conn.execute(text("SELECT ciphertext FROM credentials"))).scalar_one()
        assert Fernet(new_key.encode()).decrypt(stored.encode())
    # Now the old key can go.
    async with running_control_plane(make_settings(database, fernet_keys=new_key)) as cp:
        boot = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
        assert boot.json()["llm"]["api_key"] == "sk-llm-secret-444"


async def test_rotation_function_for_the_cli(database: Database) -> None:
    new_key = Fernet.generate_key().decode()
    async with running_control_plane(make_settings(database)) as cp:
        token = await _setup(cp)
        await cp.client.put(
            "/v1/tenants/acme/credentials/llm", json=SECRETS["llm"], headers=cp.admin
        )
    result = await rotate_encryption_keys(
        make_settings(database, fernet_keys=f"{new_key},{FERNET_KEY}")
    )
    assert (result.rotated, result.skipped) == (1, [])
    async with running_control_plane(make_settings(database, fernet_keys=new_key)) as cp:
        boot = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
        assert boot.json()["llm"]["api_key"] == "sk-llm-secret-444"
        audit = (
            await cp.client.get("/v1/audit?action=credentials.rotate_keys", headers=cp.admin)
        ).json()
        assert audit[0]["details"] == {"rows": 1}


async def test_rotation_skips_and_names_rows_no_key_can_open(database: Database) -> None:
    """One secret sealed with a key already dropped must not stop the others from rotating:
    they are re-encrypted, the unreadable row is left as it is and named (API, audit, CLI)."""
    lost_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    async with running_control_plane(make_settings(database, fernet_keys=lost_key)) as cp:
        await cp.create_tenant("lost")
        put = await cp.client.put(
            "/v1/tenants/lost/credentials/llm", json=SECRETS["llm"], headers=cp.admin
        )
        assert put.status_code == 200
    async with running_control_plane(make_settings(database)) as cp:
        token = await _setup(cp)
        await cp.client.put(
            "/v1/tenants/acme/credentials/llm", json=SECRETS["llm"], headers=cp.admin
        )
    async with running_control_plane(
        make_settings(database, fernet_keys=f"{new_key},{FERNET_KEY}")
    ) as cp:
        result = await cp.client.post("/v1/admin/rotate-keys", headers=cp.admin)
        assert result.status_code == 200
        assert result.json() == {"rotated": 1, "skipped": ["lost/llm"]}
        audit = (
            await cp.client.get("/v1/audit?action=credentials.rotate_keys", headers=cp.admin)
        ).json()
        assert audit[0]["details"] == {"rows": 1, "skipped": ["lost/llm"]}
        async with cp.app.state.container.engine.connect() as conn:
            rows = dict(
                (await conn.execute(text("SELECT tenant_id, ciphertext FROM credentials"))).all()
            )
        assert Fernet(new_key.encode()).decrypt(rows["acme"].encode())
        assert Fernet(lost_key.encode()).decrypt(rows["lost"].encode()), "left untouched"
    async with running_control_plane(make_settings(database, fernet_keys=new_key)) as cp:
        boot = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
        assert boot.json()["llm"]["api_key"] == "sk-llm-secret-444"


async def test_the_documented_curl_works_with_or_without_a_content_type(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", channel={"type": "whatsapp", "phone_number_id": "42"})
    body = (
        '{"access_token": "EAA-doc-secret", "app_secret": "doc-app-secret", '
        '"verify_token": "doc-verify-token"}'
    )
    # As in docs/control-plane.md; curl's `-d` sends a form content type when none is given,
    # and httpx sends none for raw content.
    for content_type in (
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        None,
    ):
        headers = dict(cp.admin)
        if content_type is not None:
            headers["Content-Type"] = content_type
        put = await cp.client.put(
            "/v1/tenants/acme/credentials/channel", content=body, headers=headers
        )
        assert put.status_code == 200, (content_type, put.text)
        assert put.json()["key_names"] == ["access_token", "app_secret", "verify_token"]
    refused = [
        ("text/plain", body, 415),
        ("application/json", '["EAA-doc-secret"]', 422),
        ("application/x-www-form-urlencoded", "access_token=EAA-doc-secret", 422),
        (None, '{"access_token": "EAA-doc-secret"', 422),
    ]
    for content_type, content, status in refused:
        headers = dict(cp.admin)
        if content_type is not None:
            headers["Content-Type"] = content_type
        answer = await cp.client.put(
            "/v1/tenants/acme/credentials/channel", content=content, headers=headers
        )
        assert answer.status_code == status, (content_type, answer.text)
        assert "EAA-doc-secret" not in answer.text
    assert (
        await cp.client.put("/v1/tenants/acme/credentials/channel", content=body)
    ).status_code == 401


MISSPELT = "EAA-misspelt-secret-555"


async def _put(cp: ControlPlane, scope: str, body: object) -> httpx.Response:
    return await cp.client.put(f"/v1/tenants/acme/credentials/{scope}", json=body, headers=cp.admin)


async def _scopes(cp: ControlPlane) -> list[str]:
    listed = await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)
    return [c["scope"] for c in listed.json()]


async def test_names_the_scope_binding_does_not_have_are_refused(cp: ControlPlane) -> None:
    """A misspelt (or any other) name would be merged into the binding at boot, and the data
    plane's settings model refuses unknown fields: 422 naming it and the expected secrets."""
    token = await _setup(cp)
    refused = [
        ("channel", {"acess_token": MISSPELT}, "body.acess_token",
         "channel (type 'whatsapp') takes the secrets access_token, app_secret, verify_token"),
        ("channel", {"access_token": MISSPELT, "phone_number_id": "43"}, "body.phone_number_id",
         "a setting, not a secret"),
        ("connector:calendar", {"pasword": MISSPELT}, "body.pasword",
         "connectors.calendar (type 'caldav') takes the secrets password"),
        ("connector:calendar", {"api_key": MISSPELT}, "body.api_key", "takes the secrets password"),
        ("llm", {"apikey": MISSPELT, "token": MISSPELT}, "body.apikey",
         "llm takes the secrets api_key; also unknown: token"),
        ("data_plane", {"token": MISSPELT}, "body.token",
         "data_plane takes the secrets internal_token"),
    ]  # fmt: skip
    for scope, body, field, expected in refused:
        answer = await _put(cp, scope, body)
        assert answer.status_code == 422, (scope, answer.text)
        detail = answer.json()["detail"]
        assert detail.startswith(f"{field}: "), detail
        assert expected in detail, detail
        assert MISSPELT not in answer.text
    assert "did you mean 'access_token'" in (await _put(cp, "channel", refused[0][1])).text
    assert await _scopes(cp) == [], "nothing refused was stored"
    boot = (await cp.client.get("/v1/boot/acme", headers=cp.auth(token))).json()
    assert boot["secret_paths"] == []
    # The right names are stored (each scope checked against its own binding's type).
    for scope, values in SECRETS.items():
        assert (await _put(cp, scope, values)).status_code == 200, scope


async def test_names_follow_the_binding_type_and_its_aliases(cp: ControlPlane) -> None:
    await cp.create_tenant(
        "acme",
        channel={"type": "telegram"},
        connectors={"llm": {"type": "anthropic"}, "calendar": {"type": "mock"}},
    )
    # A token as BotFather gives it: the data plane's boot refuses any other (and so does a put).
    token = "1:" + "x" * 20
    assert (await _put(cp, "channel", {"bot_token": token, "secret_token": "s"})).status_code == 200
    both = await _put(cp, "channel", {"webhook_secret": "s", "secret_token": "s"})
    assert both.status_code == 422
    assert "give one of them" in both.json()["detail"]
    assert (await _put(cp, "connector:llm", {"api_key": "sk"})).status_code == 200
    mock = await _put(cp, "connector:calendar", {"password": MISSPELT})
    assert mock.status_code == 422
    assert "connectors.calendar (type 'mock') takes no secrets" in mock.json()["detail"]
    plain = await cp.client.patch(
        "/v1/tenants/acme",
        params={"drop_stale_credentials": "true"},
        json={"channel": {"type": "http_dev"}},
        headers=cp.admin,
    )
    assert plain.status_code == 200, plain.text
    answer = await _put(cp, "channel", {"access_token": MISSPELT})
    assert answer.status_code == 422
    assert "channel (type 'http_dev') takes no secrets" in answer.json()["detail"]


async def test_a_connector_scope_needs_its_binding_first(cp: ControlPlane) -> None:
    """Secrets of a category the tenant does not bind could be neither checked nor used (the
    boot payload merges them into that binding only): 409, bind it first."""
    await cp.create_tenant("acme")
    early = await _put(cp, "connector:calendar", {"password": MISSPELT})
    assert early.status_code == 409, early.text
    assert "bind connectors.calendar first" in early.json()["detail"]
    assert MISSPELT not in early.text
    assert await _scopes(cp) == []
    bound = await cp.client.patch(
        "/v1/tenants/acme",
        json={"connectors": {"calendar": {"type": "caldav", "url": "https://dav.example/c"}}},
        headers=cp.admin,
    )
    assert bound.status_code == 200
    assert (await _put(cp, "connector:calendar", {"password": MISSPELT})).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        '{"api_key": NaN}',
        '{"api_key": Infinity}',
        '{"api_key": -Infinity}',
        '{"api_key": 1e999}',
        '{"api_key": [1, {"deep": -1e400}]}',
    ],
)
async def test_non_finite_numbers_are_refused(cp: ControlPlane, body: str) -> None:
    await cp.create_tenant("acme")
    answer = await cp.client.put(
        "/v1/tenants/acme/credentials/llm",
        content=body,
        headers={**cp.admin, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("body.api_key")
    assert "finite" in answer.json()["detail"]
    assert await _scopes(cp) == []
