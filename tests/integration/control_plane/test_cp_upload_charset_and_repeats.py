"""Document uploads: declared charsets, plain text, and the same text sent again.

A walk-through found three surprises. `charset=latin-1` was ignored and the body refused as
"not UTF-8": a body declared in another charset now answers 415 saying to send UTF-8 (flows
and knowledge read bodies the same way). `text/plain` was accepted for knowledge without
being documented (it is, now). Uploading the latest version's very text stored a duplicate,
which cluttered the version list and rollbacks: it now answers 200 with that version and
`"unchanged": true` (published with `?publish=true`), for flows and knowledge alike.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cp_harness import TINY_FLOW, ControlPlane

KNOWLEDGE_TEXT = "# Precios\nCorte: 15 EUR, niño: 10 EUR\n"
FLOW_TEXT = TINY_FLOW.format(v="uno, año")
TEXTS = {"flows": FLOW_TEXT, "knowledge": KNOWLEDGE_TEXT}
TYPES = {"flows": "application/yaml", "knowledge": "text/markdown"}


async def _post(
    cp: ControlPlane, kind: str, body: bytes, content_type: str, *, publish: bool = False
) -> httpx.Response:
    return await cp.client.post(
        f"/v1/tenants/acme/{kind}",
        params={"publish": str(publish).lower()},
        content=body,
        headers={**cp.admin, "Content-Type": content_type},
    )


async def _listed(cp: ControlPlane, kind: str) -> dict[str, Any]:
    listed: dict[str, Any] = (
        await cp.client.get(f"/v1/tenants/acme/{kind}", headers=cp.admin)
    ).json()
    return listed


async def _actions(cp: ControlPlane) -> list[str]:
    audit = (await cp.client.get("/v1/audit?tenant_id=acme", headers=cp.admin)).json()
    return [entry["action"] for entry in reversed(audit)]


# ---------------------------------------------------------------- charsets


@pytest.mark.parametrize("kind", ["flows", "knowledge"])
@pytest.mark.parametrize("charset", ["latin-1", "ISO-8859-1", '"windows-1252"', "utf-16"])
async def test_a_body_declared_in_another_charset_is_refused_saying_to_send_utf8(
    cp: ControlPlane, kind: str, charset: str
) -> None:
    await cp.create_tenant("acme")
    text = TEXTS[kind]
    encoding = charset.strip('"')
    refused = await _post(cp, kind, text.encode(encoding), f"{TYPES[kind]}; charset={charset}")

    assert refused.status_code == 415, refused.text
    detail = refused.json()["detail"]
    assert f"charset '{encoding}' is not accepted" in detail
    assert "send the text as UTF-8" in detail
    assert "charset=utf-8" in detail
    assert (await _listed(cp, kind))["versions"] == []


async def test_an_unknown_charset_is_refused_too(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    refused = await _post(cp, "knowledge", b"# Hi", "text/markdown; charset=klingon")
    assert refused.status_code == 415, refused.text
    assert "charset 'klingon' is not accepted" in refused.json()["detail"]


@pytest.mark.parametrize("kind", ["flows", "knowledge"])
@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"', "utf8", "us-ascii"])
async def test_utf8_and_ascii_charsets_are_read(cp: ControlPlane, kind: str, charset: str) -> None:
    await cp.create_tenant("acme")
    text = TEXTS[kind] if charset != "us-ascii" else TEXTS[kind].encode("ascii", "replace").decode()
    stored = await _post(cp, kind, text.encode(), f"{TYPES[kind]}; charset={charset}")
    assert stored.status_code == 201, stored.text
    field = "yaml" if kind == "flows" else "text"
    detail = (await cp.client.get(f"/v1/tenants/acme/{kind}/1", headers=cp.admin)).json()
    assert detail[field] == text


async def test_a_json_upload_declared_in_another_charset_is_refused(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    body = '{"text": "# Niño"}'.encode("latin-1")
    refused = await _post(cp, "knowledge", body, "application/json; charset=latin-1")
    assert refused.status_code == 415, refused.text
    assert "send the text as UTF-8" in refused.json()["detail"]


async def test_text_that_is_not_utf8_without_a_charset_still_says_so(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    refused = await _post(cp, "knowledge", KNOWLEDGE_TEXT.encode("latin-1"), "text/markdown")
    assert refused.status_code == 422, refused.text
    assert "not UTF-8 text" in refused.json()["detail"]
    assert "send the text as UTF-8" in refused.json()["detail"]


async def test_plain_text_knowledge_is_accepted(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    stored = await _post(cp, "knowledge", KNOWLEDGE_TEXT.encode(), "text/plain; charset=utf-8")
    assert stored.status_code == 201, stored.text


# ---------------------------------------------------------------- the same text again


@pytest.mark.parametrize("kind", ["flows", "knowledge"])
async def test_the_latest_versions_text_again_answers_that_version_unchanged(
    cp: ControlPlane, kind: str
) -> None:
    await cp.create_tenant("acme")
    body, content_type = TEXTS[kind].encode(), TYPES[kind]
    first = await _post(cp, kind, body, content_type)
    assert first.status_code == 201, first.text
    assert (first.json()["version"], first.json()["unchanged"]) == (1, False)

    again = await _post(cp, kind, body, content_type)

    assert again.status_code == 200, again.text
    answer = again.json()
    assert (answer["version"], answer["unchanged"], answer["published"]) == (1, True, False)
    assert answer["sha256"] == first.json()["sha256"]
    assert [v["version"] for v in (await _listed(cp, kind))["versions"]] == [1]
    singular = "flow" if kind == "flows" else "knowledge"
    assert (await _actions(cp)).count(f"{singular}.upload") == 1
    # Lists and details do not carry the upload's flag.
    assert "unchanged" not in (await _listed(cp, kind))["versions"][0]


@pytest.mark.parametrize("kind", ["flows", "knowledge"])
async def test_the_same_text_with_publish_publishes_the_existing_version(
    cp: ControlPlane, kind: str
) -> None:
    await cp.create_tenant("acme")
    body, content_type = TEXTS[kind].encode(), TYPES[kind]
    assert (await _post(cp, kind, body, content_type)).status_code == 201

    published = await _post(cp, kind, body, content_type, publish=True)

    assert published.status_code == 200, published.text
    answer = published.json()
    assert (answer["version"], answer["unchanged"], answer["published"]) == (1, True, True)
    listed = await _listed(cp, kind)
    assert (listed["published_version"], len(listed["versions"])) == (1, 1)
    singular = "flow" if kind == "flows" else "knowledge"
    assert (await _actions(cp))[-2:] == [f"{singular}.upload", f"{singular}.publish"]

    # Sent again while published: still that version, published, nothing audited.
    before = await _actions(cp)
    repeat = await _post(cp, kind, body, content_type, publish=True)
    assert (repeat.status_code, repeat.json()["published"]) == (200, True)
    assert await _actions(cp) == before


async def test_the_same_text_sent_as_json_or_as_text_is_the_same(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    assert (await _post(cp, "knowledge", KNOWLEDGE_TEXT.encode(), "text/plain")).status_code == 201
    again = await cp.client.post(
        "/v1/tenants/acme/knowledge", json={"text": KNOWLEDGE_TEXT}, headers=cp.admin
    )
    assert (again.status_code, again.json()["unchanged"]) == (200, True)


async def test_an_older_versions_text_is_stored_as_a_new_version(cp: ControlPlane) -> None:
    """Only the latest version counts: going back to an older text by uploading it is a new
    version (the history says what happened), as before."""
    await cp.create_tenant("acme")
    one, two = b"# One\n", b"# Two\n"
    for body in (one, two, one):
        assert (await _post(cp, "knowledge", body, "text/markdown")).status_code == 201
    assert [v["version"] for v in (await _listed(cp, "knowledge"))["versions"]] == [1, 2, 3]


async def test_a_text_differing_only_in_whitespace_is_a_new_version(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    assert (await _post(cp, "knowledge", b"# One\n", "text/markdown")).status_code == 201
    changed = await _post(cp, "knowledge", b"# One\n\n", "text/markdown")
    assert (changed.status_code, changed.json()["version"]) == (201, 2)


async def test_an_unchanged_flow_that_cannot_be_published_answers_409(cp: ControlPlane) -> None:
    """`?publish=true` with the latest version's text publishes that version, with the
    publish's checks: a flow calling a connector the tenant does not bind is refused."""
    await cp.create_tenant("acme")
    calls = FLOW_TEXT.replace(
        '- action: send_text\n        text: "Hello from version uno, año"',
        "- action: invoke_connector\n        connector: calendar\n"
        "        operation: get_available_days\n        result_key: days",
    )
    assert calls != FLOW_TEXT
    assert (await _post(cp, "flows", calls.encode(), "application/yaml")).status_code == 201

    refused = await _post(cp, "flows", calls.encode(), "application/yaml", publish=True)

    assert refused.status_code == 409, refused.text
    assert "calls connectors tenant 'acme' does not configure" in refused.json()["detail"]
    listed = await _listed(cp, "flows")
    assert (listed["published_version"], len(listed["versions"])) == (None, 1)


async def test_the_openapi_document_describes_the_unchanged_answer(cp: ControlPlane) -> None:
    spec = (await cp.client.get("/openapi.json")).json()
    for kind in ("flows", "knowledge"):
        upload = spec["paths"][f"/v1/tenants/{{tenant_id}}/{kind}"]["post"]
        assert {"200", "201"} <= set(upload["responses"])
        assert "unchanged" in upload["responses"]["200"]["description"]
    knowledge = spec["paths"]["/v1/tenants/{tenant_id}/knowledge"]["post"]["requestBody"]
    assert "text/plain" in knowledge["content"]


@pytest.mark.parametrize("as_json", [False, True])
async def test_a_byte_order_mark_is_no_part_of_the_stored_text(
    cp: ControlPlane, as_json: bool
) -> None:
    # Notepad's UTF-8 files start with U+FEFF: kept, it went into every prompt and showed as a
    # change of line 1 in a diff with no visible difference.
    await cp.create_tenant("acme")
    text = "\ufeff# Precios\r\nNivel A1: 90 EUR\r\n"
    sent = (
        {"json": {"text": text}}
        if as_json
        else {"content": text.encode(), "headers": {**cp.admin, "Content-Type": "text/markdown"}}
    )
    answer = await cp.client.post("/v1/tenants/acme/knowledge", **({"headers": cp.admin} | sent))
    assert answer.status_code == 201, answer.text
    stored = (await cp.client.get("/v1/tenants/acme/knowledge/1", headers=cp.admin)).json()
    assert stored["text"] == "# Precios\r\nNivel A1: 90 EUR\r\n"
