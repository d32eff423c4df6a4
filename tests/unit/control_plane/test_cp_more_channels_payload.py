"""A tenant's more channels between the planes: carried in the boot payload's
`more_channels`, left out of its JSON when there are none, their secrets sealed in the data
plane's cache like the others, their changes named for a restart and for `tenants apply` item
by item; their credential scopes by kind."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.provision import setting_changes
from botfleet.control_plane.services.credentials import check_scope
from botfleet.data_plane.config_source import BootCache
from botfleet.data_plane.config_source.cache import put_secrets, take_secrets
from botfleet.data_plane.config_source.convert import tenant_config_from_boot
from botfleet.data_plane.config_source.watch import changed_settings
from botfleet.domain.tenants import BootPayload, PublishedFlow, TenantInfo

BOT_TOKEN = "5551234567:AAbbCCddEEffGGhhIIjjKKllMMnnOOpp"
FLOW = "id: f\ninitial_state: A\nstates:\n  A:\n    on_enter: []\n    fallback: A\n"


def payload(**telegram: object) -> BootPayload:
    more = [
        {"type": "webchat"},
        {"type": "telegram", "bot_token": BOT_TOKEN, "webhook_secret": "hook-1", **telegram},
    ]
    return BootPayload(
        tenant=TenantInfo(id="acme", name="Acme"),
        flow=PublishedFlow(version=1, flow_id="f", yaml=FLOW, sha256="0" * 64),
        channel={"type": "whatsapp", "phone_number_id": "42"},
        more_channels=more,
        secret_paths=("more_channels[1].bot_token", "more_channels[1].webhook_secret"),
    )


def test_a_more_channels_secrets_are_taken_out_and_put_back_by_path() -> None:
    data = payload().model_dump(mode="json")

    taken = take_secrets(data, payload().secret_paths)

    assert taken == {
        "more_channels[1].bot_token": BOT_TOKEN,
        "more_channels[1].webhook_secret": "hook-1",
    }
    assert data["more_channels"][1] == {"type": "telegram"}
    put_secrets(data, taken)
    assert BootPayload.model_validate(data) == payload()


def test_the_cache_holds_no_more_channels_secret_in_clear(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    path = tmp_path / "boot-cache.json"
    BootCache(path, key).save(payload(), '"etag-1"')
    assert BOT_TOKEN not in path.read_text()
    cached = BootCache(path, key).load()
    assert cached is not None and cached.payload == payload()


def test_the_data_plane_reads_them_as_the_tenants_more_channels() -> None:
    config = tenant_config_from_boot(payload())

    assert config.channel.model_dump() == {"type": "whatsapp", "phone_number_id": "42"}
    assert [b.type for b in config.more_channels] == ["webchat", "telegram"]
    assert config.more_channels[1].settings()["bot_token"] == BOT_TOKEN


def test_a_changed_more_channel_is_named_for_the_restart_by_its_place() -> None:
    changed = changed_settings(payload(), payload(bot_username="acme_bot"))
    assert changed == {"more_channels[1].bot_username"}
    fewer = payload().model_copy(update={"more_channels": []})
    assert changed_settings(payload(), fewer) == {
        "more_channels[0].type",
        "more_channels[1].type",
        "more_channels[1].bot_token",
        "more_channels[1].webhook_secret",
    }


def test_apply_tells_a_more_channels_changes_item_by_item() -> None:
    before = {"more_channels": [{"type": "telegram", "bot_username": "shop_bot"}]}
    after = {
        "more_channels": [
            {"type": "telegram", "bot_username": "shop2_bot", "webhook_secret": "s-1"},
            {"type": "webchat"},
        ]
    }

    assert setting_changes(before, after) == [
        "more_channels: telegram.bot_username 'shop_bot' -> 'shop2_bot'; added "
        "telegram.webhook_secret, webchat"
    ]
    assert setting_changes(after, {"more_channels": []}) == [
        "more_channels: removed telegram, webchat"
    ]
    # The same channels in another order: no change.
    assert setting_changes(after, {"more_channels": after["more_channels"][::-1]}) == []


@pytest.mark.parametrize(
    ("scope", "accepted"),
    [
        ("channel:telegram", True),
        ("channel:whatsapp", True),
        ("channel:webchat", True),
        ("channel:http_dev", False),
        ("channel:fax", False),
        ("channel:", False),
    ],
)
def test_a_more_channels_scope_names_a_channel_kind(scope: str, accepted: bool) -> None:
    if accepted:
        assert check_scope(scope) == scope
        return
    with pytest.raises(InvalidInput) as caught:
        check_scope(scope)
    assert str(caught.value) == (
        "scope: a more channel's scope is one of channel:telegram, channel:webchat, "
        "channel:whatsapp"
    )


def test_a_payload_without_more_channels_keeps_its_json_and_etag() -> None:
    alone = payload().model_copy(update={"more_channels": [], "secret_paths": ()})
    assert "more_channels" not in alone.canonical_json()
    # The JSON a control plane served before more_channels existed, and so its ETag.
    data = alone.model_dump(mode="json")
    del data["more_channels"]
    before = json.dumps(data, sort_keys=True, separators=(",", ":"))
    assert alone.etag() == hashlib.sha256(before.encode()).hexdigest()
    assert '"more_channels":[{"type":"webchat"}' in payload().canonical_json()


def test_a_more_channel_without_a_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"more_channels\[0\] binding needs a string 'type'"):
        BootPayload.model_validate(
            {**payload().model_dump(mode="json"), "more_channels": [{"bot_token": "x"}]}
        )
