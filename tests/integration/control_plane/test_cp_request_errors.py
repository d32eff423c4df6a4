"""Refused request bodies: 4xx answers that name the place and never repeat the values (a
credentials body is nothing but secrets), and no error path that prints a request."""

from __future__ import annotations

import json
import logging

import pytest
from cp_harness import ControlPlane

SECRET = "LEAKEDSECRET_9f3k"


async def test_validation_errors_name_the_place_without_echoing_values(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    json_headers = {**cp.admin, "Content-Type": "application/json"}
    answers = [
        await cp.client.post(
            "/v1/tenants", json={"id": "Not A Slug", "name": SECRET}, headers=cp.admin
        ),
        await cp.client.patch(
            "/v1/tenants/acme", json={"channel": SECRET, "name": 7}, headers=cp.admin
        ),
        await cp.client.post("/v1/tenants", content=f'{{"id": "{SECRET}', headers=json_headers),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert SECRET not in answer.text
        for error in answer.json()["detail"]:
            assert set(error) == {"type", "loc", "msg"}
            assert error["loc"][0] == "body"
    assert ["body", "id"] in [e["loc"] for e in answers[0].json()["detail"]]
    assert ["body", "channel"] in [e["loc"] for e in answers[1].json()["detail"]]


async def test_lone_surrogates_are_refused_naming_the_place(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    key = await cp.tenant_key("acme")
    tenant_json = {**cp.auth(key), "Content-Type": "application/json"}
    admin_json = {**cp.admin, "Content-Type": "application/json"}
    cases = [
        ("PUT", "/v1/tenants/acme/credentials/channel", f'["{SECRET}","\\ud800"]', "body[1]"),
        ("PUT", "/v1/tenants/acme/credentials/llm", f'{{"k":"{SECRET}\\udc00"}}', "body.k"),
        ("POST", "/v1/tenants/acme/knowledge", '{"text":"# FAQ \\ud800"}', "body.text"),
        ("POST", "/v1/tenants/acme/flows", '{"yaml":"id: x\\uD800"}', "body.yaml"),
        ("POST", "/v1/tenants", '{"id":"t9","name":"bad\\ud800"}', "body.name"),
        ("PATCH", "/v1/tenants/acme", '{"llm":{"\\ud800":1}}', "body.llm (an object key)"),
        # The same code point sent as (invalid) UTF-8 bytes: Python's JSON parser lets it in.
        ("POST", "/v1/tenants", b'{"id":"t8","name":"bad\xed\xa0\x80"}', "body.name"),
    ]  # fmt: skip
    for method, path, body, place in cases:
        headers = admin_json if path == "/v1/tenants" else tenant_json
        answer = await cp.client.request(method, path, content=body, headers=headers)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["detail"].startswith(f"{place}: holds a lone surrogate")
        assert SECRET not in answer.text

    assert (await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)).json() == []
    for kind in ("flows", "knowledge"):
        listed = await cp.client.get(f"/v1/tenants/acme/{kind}", headers=cp.admin)
        assert listed.json()["versions"] == []
    tenants = await cp.client.get("/v1/tenants", headers=cp.admin)
    assert [t["id"] for t in tenants.json()] == ["acme"]
    # A surrogate *pair* is an astral character: accepted, and stored as the character.
    paired = await cp.client.post(
        "/v1/tenants/acme/knowledge",
        content='{"text":"# FAQ \\ud83d\\ude00"}',
        headers=admin_json,
    )
    assert paired.status_code == 201, paired.text
    stored = await cp.client.get("/v1/tenants/acme/knowledge/1", headers=cp.admin)
    assert stored.json()["text"] == "# FAQ \U0001f600"


async def test_an_unhandled_error_is_a_json_500_logged_without_its_messages(
    cp: ControlPlane, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)

    async def fail() -> None:
        try:
            raise KeyError(SECRET)
        except KeyError as exc:
            raise RuntimeError(f"while handling {SECRET}") from exc

    cp.app.add_api_route("/v1/boom", fail, methods=["POST"])
    # Not raised out of the app: the server would print the traceback, messages included.
    answer = await cp.client.post("/v1/boom", json={"token": SECRET})
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error"}
    logged = caplog.text + "".join(capsys.readouterr())
    assert SECRET not in logged
    event = next(
        json.loads(r.getMessage()) for r in caplog.records if "unhandled" in r.getMessage()
    )
    assert event["route"] == "/v1/boom"
    assert [e["type"] for e in event["chain"]] == ["builtins.RuntimeError", "builtins.KeyError"]
    assert any("in fail" in place for place in event["chain"][0]["at"])
    assert (await cp.client.get("/health")).status_code == 200
