"""What a credentials put of a Google service-account key answers: the reason the key is
unusable, repeating the key's non-secret fields (its `type`) but never a secret, and its form
checked before the hosts of its URLs are looked up."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cp_harness import ControlPlane, Database, FakeDns, make_settings, running_control_plane
from pydantic import BaseModel, field_validator
from service_account_key import private_key_pem, service_account

from botfleet.control_plane.binding_schemas import CredentialTarget
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.services.credential_values import check_credential_values

PATH = "/v1/tenants/acme/credentials/connector:calendar"
CALENDAR = {"calendar": {"type": "google_calendar"}}
HIDDEN = "refused (the reason is not shown: it would repeat the value)"


@pytest.mark.parametrize("as_text", [False, True])
async def test_the_type_of_a_key_that_is_no_service_account_is_named(
    cp: ControlPlane, as_text: bool
) -> None:
    await cp.create_tenant("acme", connectors=CALENDAR)
    key = service_account(type="authorized_user")
    given = json.dumps(key) if as_text else key
    put = await cp.client.put(PATH, json={"service_account_info": given}, headers=cp.admin)
    assert put.status_code == 422, put.text
    assert put.json()["detail"] == (
        "body.service_account_info: not a usable service-account key (the key's type is "
        "'authorized_user', not 'service_account'; give a service account's JSON key (Google "
        "Cloud: Service accounts, Keys))"
    )
    assert key["private_key"] not in put.text and key["private_key_id"] not in put.text


async def test_a_secret_pasted_as_the_type_is_not_repeated(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", connectors=CALENDAR)
    for pasted in (private_key_pem(), "Sup3r-Secret-Value"):
        key = service_account(type=pasted)
        put = await cp.client.put(PATH, json={"service_account_info": key}, headers=cp.admin)
        assert put.status_code == 422, put.text
        assert "the key's type is not 'service_account'" in put.json()["detail"]
        assert pasted not in put.text


class _Repeating(BaseModel):
    """A settings model whose message repeats the key's field named by its `repeat`, as a
    library's might."""

    service_account_info: Any = None

    @field_validator("service_account_info")
    @classmethod
    def _repeat(cls, value: Any) -> Any:
        key = json.loads(value) if isinstance(value, str) else value
        raise ValueError(f"cannot use {key[key['repeat']]}")


_REPEATING = CredentialTarget(
    "test", {"service_account_info": "service_account_info"}, model=_Repeating
)


@pytest.mark.parametrize("as_text", [False, True])
@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("type", "authorized_user", True),
        ("type", "Sup3r-Secret-Value", False),  # not a type's name: maybe a pasted secret
        ("project_id", "acme-bot", True),
        ("client_email", "bot@acme-bot.iam.gserviceaccount.com", True),
        ("client_email", "hunter2-secret-not-an-email", False),
        ("token_uri", "https://oauth2.googleapis.com/token", True),
        ("auth_uri", "https://accounts.google.com/o/oauth2/auth", True),
        ("token_uri", "https://tokens.example.com/t?sig=hunter2", False),  # not Google's
        ("private_key", "-----BEGIN PRIVATE KEY-----hunter2", False),
        ("private_key_id", "0123456789abcdef", False),
    ],
)
def test_only_a_keys_non_secret_fields_in_their_usual_form_may_be_repeated(
    field: str, value: str, shown: bool, as_text: bool
) -> None:
    key = {**service_account(), field: value, "repeat": field}
    given = json.dumps(key) if as_text else key
    with pytest.raises(InvalidInput) as refused:
        check_credential_values(_REPEATING, {"service_account_info": given})
    expected = f"cannot use {value}" if shown else HIDDEN
    assert str(refused.value) == f"body.service_account_info: {expected}"


async def test_a_keys_form_is_checked_before_the_hosts_of_its_urls(database: Database) -> None:
    """A private key with its line breaks typed as `\\n` was reported as the token_uri's host
    not resolving (the lookup ran first): the form is checked first, and nothing looked up."""
    settings = make_settings(database)
    async with running_control_plane(settings, dns=FakeDns(default=None)) as cp:
        await cp.create_tenant("acme", connectors=CALENDAR)
        tenant = cp.auth(await cp.tenant_key("acme"))
        typed = private_key_pem().strip().replace("\n", "\\n")
        key = service_account(private_key=typed, token_uri="https://tokens.acme.example.net/t")
        put = await cp.client.put(PATH, json={"service_account_info": key}, headers=tenant)
        assert put.status_code == 422, put.text
        assert "line breaks written as \\n" in put.json()["detail"], put.text
        assert cp.dns.asked == []
        # A well-formed key's host is then looked up: this one does not resolve.
        fine = service_account(token_uri="https://tokens.acme.example.net/t")
        put = await cp.client.put(PATH, json={"service_account_info": fine}, headers=tenant)
        assert put.status_code == 422, put.text
        assert put.json()["detail"].startswith("body.service_account_info.token_uri: the URL's")
        assert cp.dns.asked == ["tokens.acme.example.net"]
