"""WhatsApp channel settings: the seed's keys, defaults, and errors that hide secrets."""

from __future__ import annotations

import pytest

from botfleet.adapters.channels.whatsapp.settings import whatsapp_settings
from botfleet.domain.errors import ConfigError

SEED = {
    "type": "whatsapp",
    "phone_number_id": 1234567890,  # unquoted in YAML
    "access_token": "EAAxxxxxxx",
    "app_secret": "abc123",
    "verify_token": "my_verify_token",
}


def test_the_seed_channel_block_is_accepted_with_defaults() -> None:
    settings = whatsapp_settings(SEED)
    assert settings.phone_number_id == "1234567890"
    assert settings.api_version == "v19.0"
    assert settings.messages_url == "https://graph.facebook.com/v19.0/1234567890/messages"
    assert settings.mark_as_read is True


def test_the_base_url_can_point_at_a_local_fake() -> None:
    settings = whatsapp_settings(
        {**SEED, "base_url": "http://127.0.0.1:8999/", "api_version": "v21.0"}
    )
    assert settings.messages_url == "http://127.0.0.1:8999/v21.0/1234567890/messages"


@pytest.mark.parametrize(
    "url", ["https://graph.facebook.com/v19.0", "https://graph.facebook.com/v21.0/"]
)
def test_a_base_url_with_the_graph_version_is_refused_naming_api_version(url: str) -> None:
    # Meta's docs write the root with a version; kept, every call went to /v19.0/v19.0/...
    with pytest.raises(ConfigError, match="api_version") as raised:
        whatsapp_settings({**SEED, "graph_base_url": url})
    assert raised.value.key == "channel.graph_base_url"


def test_a_base_url_path_that_is_no_version_is_kept() -> None:
    settings = whatsapp_settings({**SEED, "graph_base_url": "http://127.0.0.1:8999/graph/v2"})
    assert settings.messages_url == "http://127.0.0.1:8999/graph/v2/v19.0/1234567890/messages"


def test_secrets_never_show_in_reprs() -> None:
    text = repr(whatsapp_settings(SEED))
    for secret in ("EAAxxxxxxx", "abc123", "my_verify_token"):
        assert secret not in text


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"access_token": None}, "channel.access_token"),
        ({"phone_number_id": "12ab"}, "channel.phone_number_id"),
        ({"api_version": "19"}, "channel.api_version"),
        ({"graph_base_url": "graph.facebook.com"}, "channel.graph_base_url"),
        ({"acces_token": "typo"}, "channel.acces_token"),
    ],
)
def test_bad_settings_name_the_key_and_never_echo_values(
    change: dict[str, object], key: str
) -> None:
    raw = {**SEED, **change}
    if change.get("access_token", "") is None:
        del raw["access_token"]
    with pytest.raises(ConfigError) as raised:
        whatsapp_settings(raw, source="tenant.yaml")
    assert raised.value.key == key
    assert str(raised.value).startswith("tenant.yaml: ")
    assert "abc123" not in str(raised.value)
    assert "EAAxxxxxxx" not in str(raised.value)


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="app_secret"):
        whatsapp_settings({**SEED, "app_secret": ""})
