"""A credentials put is checked with the rules the data plane applies at boot (SQLite,
PostgreSQL): secrets it would refuse to start with answer 422 naming each field, never the
value, and nothing is stored."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane
from service_account_key import service_account

from botfleet.adapters.channels.telegram.settings import telegram_settings
from botfleet.adapters.channels.whatsapp.settings import whatsapp_settings
from botfleet.domain.errors import ConfigError

GOOD_TELEGRAM = {"bot_token": "123456:AAH" + "x" * 30, "webhook_secret": "hook_secret-1"}
# The operator's walk-through: a token BotFather never gives, a secret Telegram refuses.
BAD_TELEGRAM = {"bot_token": "123:short", "webhook_secret": "has spaces and !"}
WHATSAPP = {"type": "whatsapp", "phone_number_id": "42"}
GOOD_WHATSAPP = {
    "access_token": "EAA-format-111",
    "app_secret": "format-app-222",
    "verify_token": "format-verify-333",
}
HOOK = {"type": "webhook", "url": "https://hooks.example.com/botfleet"}


async def _put(
    cp: ControlPlane, scope: str, body: dict[str, Any], tenant: str = "shopw"
) -> httpx.Response:
    return await cp.client.put(
        f"/v1/tenants/{tenant}/credentials/{scope}", json=body, headers=cp.admin
    )


async def _stored(cp: ControlPlane, tenant: str = "shopw") -> dict[str, list[str]]:
    listed = await cp.client.get(f"/v1/tenants/{tenant}/credentials", headers=cp.admin)
    assert listed.status_code == 200, listed.text
    return {c["scope"]: c["key_names"] for c in listed.json()}


def _detail(response: httpx.Response, secrets: dict[str, Any]) -> str:
    """The 422's detail, after checking no secret of the put is in the answer."""
    assert response.status_code == 422, response.text
    for value in secrets.values():
        text = (value if isinstance(value, str) else json.dumps(value)).strip()
        # A blank secret (refused as such) is in any answer; so is a short word.
        assert len(text) < 4 or text not in response.text
    detail: str = response.json()["detail"]
    return detail


async def test_a_telegram_token_and_secret_the_data_plane_refuses_are_not_stored(
    cp: ControlPlane, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    boot_token = await cp.create_tenant("shopw", channel={"type": "telegram"})
    await cp.upload_flow("shopw", publish=True)
    assert (await _put(cp, "channel", GOOD_TELEGRAM)).status_code == 200

    refused = await _put(cp, "channel", BAD_TELEGRAM)

    detail = _detail(refused, BAD_TELEGRAM)
    assert detail.startswith(
        "body.bot_token: not a bot token as BotFather gives it (<digits>:<letters>)"
    ), detail
    assert ("; body.webhook_secret: use 1-256 characters from A-Z, a-z, 0-9, '_' and '-'") in detail
    # Nothing replaced: the data plane still boots with the good pair.
    assert await _stored(cp) == {"channel": ["bot_token", "webhook_secret"]}
    boot = await cp.client.get("/v1/boot/shopw", headers=cp.auth(boot_token))
    channel = boot.json()["channel"]
    assert channel["bot_token"] == GOOD_TELEGRAM["bot_token"]
    assert telegram_settings(channel).bot_id == 123456  # what the data plane's boot reads
    # ...and the refused pair is one the data plane's boot refuses, by the same rules.
    with pytest.raises(ConfigError, match="not a bot token as BotFather gives it"):
        telegram_settings({"type": "telegram", **BAD_TELEGRAM})

    logged = caplog.text + "".join(capsys.readouterr())
    assert "credentials" in logged, "the logs were captured"
    for value in BAD_TELEGRAM.values():
        assert value not in logged


async def test_each_telegram_secret_is_named_alone_and_by_its_alias(cp: ControlPlane) -> None:
    await cp.create_tenant("shopw", channel={"type": "telegram"})
    only_token = {**GOOD_TELEGRAM, "bot_token": "123456:AAH" + "x" * 30 + "\n"}
    detail = _detail(await _put(cp, "channel", only_token), only_token)
    assert detail.startswith("body.bot_token: "), detail
    assert "webhook_secret" not in detail
    alias = {"bot_token": GOOD_TELEGRAM["bot_token"], "secret_token": "with space"}
    detail = _detail(await _put(cp, "channel", alias), alias)
    assert detail.startswith("body.secret_token: use 1-256 characters"), detail
    not_text = {"bot_token": 123456, "webhook_secret": "hook_secret-3"}
    detail = _detail(await _put(cp, "channel", not_text), {"webhook_secret": "hook_secret-3"})
    assert detail == "body.bot_token: Input should be a valid string"
    assert await _stored(cp) == {}

    by_alias = {"bot_token": GOOD_TELEGRAM["bot_token"], "secret_token": "hook_secret-2"}
    stored = await _put(cp, "channel", by_alias)
    assert stored.status_code == 200, stored.text
    assert await _stored(cp) == {"channel": ["bot_token", "secret_token"]}


async def test_whatsapp_secrets_with_spaces_around_them_are_refused(cp: ControlPlane) -> None:
    await cp.create_tenant("shopw", channel=WHATSAPP)
    copied = {
        **GOOD_WHATSAPP,
        "app_secret": GOOD_WHATSAPP["app_secret"] + "\n",
        "verify_token": " ",
    }

    detail = _detail(await _put(cp, "channel", copied), copied)

    assert detail == (
        "body.app_secret: starts or ends with a space or line break (copied with "
        "it?); body.verify_token: must not be empty"
    )
    assert await _stored(cp) == {}
    with pytest.raises(ConfigError, match="starts or ends with a space"):
        whatsapp_settings({**WHATSAPP, **copied})
    assert (await _put(cp, "channel", GOOD_WHATSAPP)).status_code == 200
    assert await _stored(cp) == {"channel": sorted(GOOD_WHATSAPP)}


async def test_a_whatsapp_token_with_a_space_inside_is_refused(cp: ControlPlane) -> None:
    # Pasted across lines: the data plane sent `Bearer EAAG bad token...`, refused by Meta.
    await cp.create_tenant("shopw", channel=WHATSAPP)
    pasted = {**GOOD_WHATSAPP, "access_token": "EAAGbad token\nwith breaks"}

    detail = _detail(await _put(cp, "channel", pasted), pasted)

    assert detail == "body.access_token: holds a space or line break inside (pasted across lines?)"
    assert await _stored(cp) == {}
    # A verify token is the operator's own words: spaces inside are theirs to choose.
    spaced = {**GOOD_WHATSAPP, "verify_token": "my verify words"}
    assert (await _put(cp, "channel", spaced)).status_code == 200


async def test_a_google_service_account_key_must_load_as_at_boot(cp: ControlPlane) -> None:
    await cp.create_tenant("shopw", connectors={"calendar": {"type": "google_calendar"}})
    good = service_account()
    for broken in (
        {
            **good,
            "private_key": "-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n",
        },
        {k: v for k, v in good.items() if k != "client_email"},
        json.dumps(good)[:-1],  # the key file's text, cut short
    ):
        body = {"service_account_info": broken}
        detail = _detail(await _put(cp, "connector:calendar", body), body)
        assert detail.startswith("body.service_account_info: not a usable service-account key ("), (
            detail
        )
        assert "MIIsecret" not in detail and "BEGIN PRIVATE KEY" not in detail
    assert await _stored(cp) == {}

    for given in (good, json.dumps(good)):
        stored = await _put(cp, "connector:calendar", {"service_account_info": given})
        assert stored.status_code == 200, stored.text
        assert good["private_key"] not in stored.text
    assert await _stored(cp) == {"connector:calendar": ["service_account_info"]}


async def test_a_google_key_beside_a_key_file_path_is_refused(cp: ControlPlane) -> None:
    """A rule across the binding and its secrets is the data plane's too: one key, not two."""
    calendar = {"type": "google_calendar", "credentials_path": "/keys/acme.json"}
    await cp.create_tenant("shopw", connectors={"calendar": calendar})
    body = {"service_account_info": service_account()}
    detail = _detail(await _put(cp, "connector:calendar", body), body)
    assert detail == ("body: give credentials_path or service_account_info, not both")
    assert await _stored(cp) == {}


async def test_caldav_and_llm_secrets_must_be_text(cp: ControlPlane) -> None:
    caldav = {"type": "caldav", "url": "https://dav.example/cal", "username": "bob"}
    await cp.create_tenant(
        "shopw",
        connectors={"calendar": caldav, "calendar.chair_2": caldav},
        llm={"enabled": True, "provider": "anthropic"},
    )
    number = _detail(await _put(cp, "connector:calendar", {"password": 1234}), {})
    assert number == "body.password: Input should be a valid string"
    # A username with no password stops the boot; the message names the binding's own scope.
    none = _detail(await _put(cp, "connector:calendar.chair_2", {"password": None}), {})
    assert "scope connector:calendar.chair_2, name 'password'" in none, none
    key = _detail(await _put(cp, "llm", {"api_key": ["sk-format"]}), {})
    assert key == "body.api_key: Input should be a valid string"
    assert await _stored(cp) == {}

    assert (await _put(cp, "connector:calendar", {"password": "dav-pass"})).status_code == 200
    assert (await _put(cp, "llm", {"api_key": "sk-format-444"})).status_code == 200
    assert await _stored(cp) == {"connector:calendar": ["password"], "llm": ["api_key"]}


async def test_webhook_secrets_follow_the_connector_rules(cp: ControlPlane) -> None:
    hook = {**HOOK, "headers": {"X-Shop": "downtown"}, "token_header": "X-Shop"}
    await cp.create_tenant("shopw", connectors={"notification": HOOK, "notification.crm": hook})
    smuggled = {"token": "tok-format\r\nX-Evil: 1"}
    detail = _detail(await _put(cp, "connector:notification", smuggled), smuggled)
    assert detail == "body.token: must be printable ASCII on one line, not empty"
    empty = _detail(await _put(cp, "connector:notification", {"secret": ""}), {})
    assert empty.startswith("body.secret: is empty"), empty
    # The token would go in a header the binding already sends.
    clash = _detail(await _put(cp, "connector:notification.crm", {"token": "tok-crm-555"}), {})
    assert clash.startswith("body: headers.X-Shop: also token_header"), clash
    assert await _stored(cp) == {}

    fine = await _put(cp, "connector:notification", {"token": "tok-format-666", "secret": "s1"})
    assert fine.status_code == 200, fine.text
    assert await _stored(cp) == {"connector:notification": ["secret", "token"]}
