"""A trailing newline ("value\\n") in a webhook's header value, header name, token or event is
refused like any other line break: `re.match(...$)` let it through, since `$` matches before a
final newline, and the header would have carried it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from botfleet.adapters.connectors.notification.payload import parse_params
from botfleet.adapters.registry import build_connectors
from botfleet.domain.errors import ConfigError, ConnectorRejected
from botfleet.domain.tenant_config import tenant_config_from_mapping

URL = "https://hooks.example.com/botfleet/salon"


class FixedClock:
    def now(self) -> datetime:
        return datetime(2024, 5, 6, 7, tzinfo=UTC)


def boot_error(binding: dict[str, Any]) -> ConfigError:
    raw = {"tenant_id": "salon", "timezone": "Europe/Madrid", "flow_path": "x.yaml"}
    config = tenant_config_from_mapping(
        {**raw, "connectors": {"notification": {"type": "webhook", "url": URL, **binding}}},
        source="tenants/salon.yaml",
    )
    with pytest.raises(ConfigError) as raised:
        build_connectors(config, clock=FixedClock())
    return raised.value


@pytest.mark.parametrize(
    ("binding", "key", "detail"),
    [
        ({"headers": {"X-Shop": "value\n"}}, "connectors.notification.headers",
         "printable ASCII on one line"),
        ({"headers": {"X-Shop\n": "value"}}, "connectors.notification.headers",
         "not a valid HTTP header name"),
        ({"token": "value\n"}, "connectors.notification.token", "printable ASCII on one line"),
        ({"token": "t", "token_header": "X-Token\n"}, "connectors.notification.token_header",
         "not a valid HTTP header name"),
    ],
)  # fmt: skip
def test_a_trailing_newline_is_refused_at_config_time(
    binding: dict[str, Any], key: str, detail: str
) -> None:
    error = boot_error(binding)

    assert error.key == key
    assert detail in error.detail


def test_an_event_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ConnectorRejected, match="param 'event' must be a name"):
        parse_params({"event": "handoff_requested\n"})
