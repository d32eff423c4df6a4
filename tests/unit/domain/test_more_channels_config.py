"""A tenant file's `more_channels`: each of another kind than the others, never the seed's
`http_dev` beside another channel; errors name the key."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import tenant_config_from_mapping


def tenant(channel: dict[str, Any], *more: dict[str, Any]) -> dict[str, Any]:
    return {
        "tenant_id": "t",
        "flow_path": "f.yaml",
        "channel": channel,
        "more_channels": list(more),
    }


def test_channels_of_different_kinds_are_taken() -> None:
    config = tenant_config_from_mapping(
        tenant({"type": "whatsapp"}, {"type": "telegram", "bot_token": "x"}, {"type": "webchat"})
    )
    assert [b.type for b in config.more_channels] == ["telegram", "webchat"]
    assert config.more_channels[0].settings() == {"bot_token": "x"}


def test_without_more_channels_nothing_changes() -> None:
    config = tenant_config_from_mapping(tenant({"type": "http_dev"}))
    assert config.more_channels == []


@pytest.mark.parametrize(
    ("channel", "more", "problems"),
    [
        (
            "telegram",
            ["telegram"],
            [("more_channels[0].type", "'telegram' is already the tenant's channel in channel")],
        ),
        (
            "webchat",
            ["telegram", "whatsapp", "telegram"],
            [
                (
                    "more_channels[2].type",
                    "'telegram' is already the tenant's channel in more_channels[0]",
                )
            ],
        ),
        (
            "whatsapp",
            ["http_dev"],
            [("more_channels[0].type", "'http_dev' lists every contact's messages: use 'webchat'")],
        ),
        (
            "http_dev",
            ["webchat"],
            [("more_channels[0].type", "'webchat' is already the tenant's channel in channel")],
        ),
    ],
    ids=["twice-the-same", "third-repeats-first", "http-dev-beside", "webchat-twice"],
)
def test_clashing_channels_are_refused_naming_the_key(
    channel: str, more: list[str], problems: list[tuple[str, str]]
) -> None:
    with pytest.raises(ConfigError) as refused:
        tenant_config_from_mapping(tenant({"type": channel}, *({"type": m} for m in more)))
    assert set(problems) <= set(refused.value.problems)


def test_http_dev_lists_everyone_so_it_stands_alone() -> None:
    with pytest.raises(ConfigError) as refused:
        tenant_config_from_mapping(tenant({"type": "http_dev"}, {"type": "telegram"}))
    assert refused.value.problems[0][0] == "channel.type"
    assert "use 'webchat' with more_channels" in refused.value.problems[0][1]
