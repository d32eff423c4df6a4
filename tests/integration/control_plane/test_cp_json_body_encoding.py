"""Every route taking a JSON body reads it as UTF-8 the same way: a body that is not UTF-8
answers 422 naming `body` and the byte, one declared in another `charset` 415.

FastAPI's body models answered a non-UTF-8 body 400 "There was an error parsing the body"
(no place), and the credentials put took `charset=latin-1` (200) while the uploads refused it.
"""

from __future__ import annotations

import pytest
from cp_harness import ControlPlane

NOT_UTF8 = b'{"name": "caf\xe9"}'  # Latin-1: byte 13 is not UTF-8
NOT_UTF8_AT = 13


def _routes(tenant: str) -> list[tuple[str, str, bytes]]:
    """(method, path, a valid UTF-8 body) of each kind of JSON body route."""
    return [
        ("POST", "/v1/tenants", b'{"id": "shop2", "name": "Caf\xc3\xa9"}'),
        ("PATCH", f"/v1/tenants/{tenant}", b'{"name": "Caf\xc3\xa9"}'),
        ("PUT", f"/v1/tenants/{tenant}/credentials/llm", b'{"api_key": "sk-caf\xc3\xa9-1234"}'),
        ("POST", f"/v1/tenants/{tenant}/knowledge", b'{"text": "# Caf\xc3\xa9"}'),
        ("POST", f"/v1/tenants/{tenant}/api-keys", b'{"name": "caf\xc3\xa9"}'),
        ("POST", f"/v1/tenants/{tenant}/flows/rollback", b'{"version": 1}'),
    ]


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/merge-patch+json", None, "application/x-www-form-urlencoded"],
)
async def test_a_body_that_is_not_utf8_names_the_byte(
    cp: ControlPlane, content_type: str | None
) -> None:
    await cp.create_tenant("shop1")
    headers = {**cp.admin, **({"Content-Type": content_type} if content_type else {})}
    for method, path, _ in _routes("shop1"):
        for body, at in ((NOT_UTF8, NOT_UTF8_AT), (b"\xff\xfe{", 0)):
            answer = await cp.client.request(method, path, content=body, headers=headers)
            assert answer.status_code == 422, (method, path, answer.text)
            assert answer.json() == {
                "detail": f"body: not UTF-8 text (byte {at}); send the text as UTF-8"
            }, (method, path)
    tenants = (await cp.client.get("/v1/tenants", headers=cp.admin)).json()
    assert [(t["id"], t["name"]) for t in tenants] == [("shop1", "Shop1")]


async def test_a_json_body_in_another_charset_is_415_on_every_route(cp: ControlPlane) -> None:
    await cp.create_tenant("shop1")
    for charset in ("latin-1", "utf-16", "no-such-charset"):
        headers = {**cp.admin, "Content-Type": f"application/json; charset={charset}"}
        for method, path, body in _routes("shop1"):
            answer = await cp.client.request(method, path, content=body, headers=headers)
            assert answer.status_code == 415, (method, path, answer.text)
            assert answer.json()["detail"].startswith(
                f"charset {charset!r} is not accepted: send the text as UTF-8"
            )
    assert (await cp.client.get("/v1/tenants/shop1/credentials", headers=cp.admin)).json() == []


async def test_utf8_bodies_declared_or_not_are_read(cp: ControlPlane) -> None:
    await cp.create_tenant("shop1")
    for charset in ("", "; charset=utf-8", "; charset=UTF8", '; charset="us-ascii"'):
        headers = {**cp.admin, "Content-Type": f"application/json{charset}"}
        put = await cp.client.put(
            "/v1/tenants/shop1/credentials/llm",
            content=b'{"api_key": "sk-caf\xc3\xa9-1234"}',
            headers=headers,
        )
        patch = await cp.client.patch(
            "/v1/tenants/shop1", content=b'{"name": "Caf\xc3\xa9"}', headers=headers
        )
        assert (put.status_code, patch.status_code) == (200, 200), (put.text, patch.text)
    assert (await cp.client.get("/v1/tenants/shop1", headers=cp.admin)).json()["name"] == "Café"
    # curl's default for -d, read as JSON by the credentials put, as before.
    form = await cp.client.put(
        "/v1/tenants/shop1/credentials/llm",
        content=b'{"api_key": "sk-form-1234"}',
        headers={**cp.admin, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 200, form.text
    # A GET declaring a charset has no body to refuse.
    listed = await cp.client.get(
        "/v1/tenants", headers={**cp.admin, "Content-Type": "application/json; charset=latin-1"}
    )
    assert listed.status_code == 200
