"""422s a person can act on: lengths said of text as text, patterns said in words, and an
upload's misspelt field named with the one it meant."""

from __future__ import annotations

from typing import Any

from cp_harness import ControlPlane

from botfleet.control_plane.models import LANGUAGE_RULE, TENANT_ID_RULE


def _errors(answer: Any) -> list[tuple[list[Any], str]]:
    assert answer.status_code == 422, answer.text
    return [(error["loc"], error["msg"]) for error in answer.json()["detail"]]


async def test_a_name_too_long_or_empty_is_said_in_characters(cp: ControlPlane) -> None:
    """On a PATCH the name is optional: its lengths were checked as a generic value's ("Value
    should have at most 200 items after validation")."""
    await cp.create_tenant("shop1")
    for method, path, fields in (
        ("PATCH", "/v1/tenants/shop1", {}),
        ("POST", "/v1/tenants", {"id": "shop2"}),
    ):
        for name, msg in (
            ("x" * 1000, "String should have at most 200 characters"),
            ("", "String should have at least 1 character"),
        ):
            body = {**fields, "name": name}
            answer = await cp.client.request(method, path, json=body, headers=cp.admin)
            assert _errors(answer) == [(["body", "name"], msg)], method
    still = await cp.client.get("/v1/tenants/shop1", headers=cp.admin)
    assert still.json()["name"] == "Shop1"


async def test_a_bad_tenant_id_is_said_in_words_not_as_a_regex(cp: ControlPlane) -> None:
    for bad in ("Shop_1", "-shop", "a" * 64, "tienda ñ"):
        created = await cp.client.post(
            "/v1/tenants", json={"id": bad, "name": "x"}, headers=cp.admin
        )
        assert _errors(created) == [(["body", "id"], TENANT_ID_RULE)], bad
    read = await cp.client.get("/v1/tenants/Shop_1", headers=cp.admin)
    assert _errors(read) == [(["path", "tenant_id"], TENANT_ID_RULE)]
    assert "lowercase letters, digits, '-' and '_'" in TENANT_ID_RULE
    assert "1 to 63 characters" in TENANT_ID_RULE


async def test_a_bad_language_is_said_in_words(cp: ControlPlane) -> None:
    await cp.create_tenant("shop1")
    patched = await cp.client.patch("/v1/tenants/shop1", json={"language": "ES"}, headers=cp.admin)
    assert _errors(patched) == [(["body", "language"], LANGUAGE_RULE)]


async def test_an_upload_names_its_unknown_fields_and_the_one_it_meant(cp: ControlPlane) -> None:
    await cp.create_tenant("shop1")
    cases = [
        ("flows", {"yml": "id: x"}, "body: unknown field(s): 'yml' (did you mean 'yaml'?); "
         "send a JSON object {'yaml': text}"),
        ("knowledge", {"txt": "# FAQ"}, "body: unknown field(s): 'txt' (did you mean "
         "'text'?); send a JSON object {'text': text}"),
        ("knowledge", {"text": "# FAQ", "title": "x"}, "body: unknown field(s): 'title'; "
         "send a JSON object {'text': text}"),
        ("flows", {"flow": "id: x"}, "body: unknown field(s): 'flow'; send a JSON object "
         "{'yaml': text}"),
        ("flows", {}, "body.yaml: send a JSON object {'yaml': text}"),
        ("flows", {"yaml": 7}, "body.yaml: send a JSON object {'yaml': text}"),
    ]  # fmt: skip
    for kind, body, detail in cases:
        answer = await cp.client.post(f"/v1/tenants/shop1/{kind}", json=body, headers=cp.admin)
        assert answer.status_code == 422, answer.text
        assert answer.json() == {"detail": detail}
    many = {f"field{n}": "x" for n in range(8)}
    answer = await cp.client.post("/v1/tenants/shop1/flows", json=many, headers=cp.admin)
    assert answer.json()["detail"].startswith(
        "body: unknown field(s): 'field0', 'field1', 'field2', 'field3', 'field4' and 3 more;"
    )
