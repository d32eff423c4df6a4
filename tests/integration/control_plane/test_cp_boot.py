"""Boot pull: payload contents, ETag and 304, token rotation, refusals."""

from __future__ import annotations

from cp_harness import ControlPlane

from botfleet.control_plane.api.boot import etag_matches
from botfleet.domain.tenants import BootPayload


async def test_boot_payload_has_everything_the_data_plane_needs(cp: ControlPlane) -> None:
    token = await cp.create_tenant(
        "acme",
        timezone="Europe/Madrid",
        language="es",
        connectors={"calendar": {"type": "mock_calendar"}, "llm": {"type": "mock_llm"}},
        llm={"enabled": True, "provider": "mock_llm", "quota_monthly_tokens": 1000},
    )
    await cp.upload_flow("acme", "one", publish=True)
    await cp.client.post(
        "/v1/tenants/acme/knowledge?publish=true",
        content="# Horario\nL-V 10-14",
        headers={**cp.admin, "Content-Type": "text/markdown"},
    )
    response = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    payload = BootPayload.model_validate(response.json())
    assert payload.tenant.model_dump() == {
        "id": "acme", "name": "Acme", "timezone": "Europe/Madrid", "language": "es",
    }  # fmt: skip
    assert payload.flow.version == 1
    assert payload.flow.flow_id == "tiny_flow"
    assert "Hello from version one" in payload.flow.yaml
    assert payload.channel == {"type": "http_dev"}
    assert payload.connectors == {
        "calendar": {"type": "mock_calendar"},
        "llm": {"type": "mock_llm"},
    }
    assert payload.knowledge is not None
    assert payload.knowledge.text == "# Horario\nL-V 10-14"
    assert payload.llm["quota_monthly_tokens"] == 1000
    assert response.headers["etag"] == f'"{payload.etag()}"'


async def test_etag_gives_304_until_something_is_published(cp: ControlPlane) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    first = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    etag = first.headers["etag"]
    again = await cp.client.get("/v1/boot/acme", headers={**cp.auth(token), "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert again.content == b""
    await cp.upload_flow("acme", "two", publish=True)
    changed = await cp.client.get(
        "/v1/boot/acme", headers={**cp.auth(token), "If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["flow"]["version"] == 2
    # Rolling back returns exactly the earlier content, hence the earlier ETag.
    await cp.client.post("/v1/tenants/acme/flows/rollback", headers=cp.admin)
    rolled = await cp.client.get("/v1/boot/acme", headers={**cp.auth(token), "If-None-Match": etag})
    assert rolled.status_code == 304


async def test_rotated_boot_token_replaces_the_old_one(cp: ControlPlane) -> None:
    old = await cp.create_tenant("acme")
    await cp.upload_flow("acme", publish=True)
    rotated = await cp.client.post("/v1/tenants/acme/boot-token/rotate", headers=cp.admin)
    new = rotated.json()["boot_token"]
    assert new != old
    assert (await cp.client.get("/v1/boot/acme", headers=cp.auth(old))).status_code == 401
    assert (await cp.client.get("/v1/boot/acme", headers=cp.auth(new))).status_code == 200


async def test_boot_refusals(cp: ControlPlane) -> None:
    token = await cp.create_tenant("acme")
    unpublished = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    assert unpublished.status_code == 409
    assert "no published flow" in unpublished.json()["detail"]
    unknown = await cp.client.get("/v1/boot/ghost", headers=cp.auth(token))
    assert unknown.status_code == 401
    anonymous = await cp.client.get("/v1/boot/acme")
    assert anonymous.status_code == 401
    assert anonymous.json()["detail"].startswith("missing boot token")
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    metrics = (await cp.client.get("/metrics")).text
    assert 'botfleet_cp_boot_pulls_total{result="refused"} 3.0' in metrics


def test_etag_comparison_follows_if_none_match_rules() -> None:
    assert etag_matches('"abc"', '"abc"')
    assert etag_matches('W/"abc"', '"abc"')
    assert etag_matches('"x", "abc"', '"abc"')
    assert etag_matches("*", '"abc"')
    assert not etag_matches('"abd"', '"abc"')
    assert not etag_matches(None, '"abc"')
