"""A hook URL with a query (a Teams/Power Automate trigger signed with `?sig=`, as the control
plane's credentials can now hold it) through the data plane's own HTTP client: the request goes
to that URL, query included, and no log line shows it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs
from webhook_receiver import Receiver, running_receiver

from botfleet.adapters.registry import build_connectors
from botfleet.domain.tenant_config import tenant_config_from_mapping

SIG = "sig-dp-S3cr3t-77"
QUERY = f"api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"


class FixedClock:
    def now(self) -> datetime:
        return datetime(2024, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


async def test_the_request_goes_to_the_url_query_included(receiver: Receiver) -> None:
    # The binding as the boot payload gives it, `url` merged in from the credentials.
    config = tenant_config_from_mapping(
        {
            "tenant_id": "salon",
            "flow_path": "x.yaml",
            "connectors": {"notification": {"type": "webhook", "url": f"{receiver.url}?{QUERY}"}},
        },
        source="boot payload",
    )
    connector = build_connectors(config, clock=FixedClock())["notification"]

    with capture_logs() as logs:
        answer = await connector.call(
            "send", {"event": "handoff_requested"}, idempotency_key="salon:c1:m1"
        )

    assert answer["delivered"] is True
    (request,) = receiver.requests
    assert request.path == f"/hooks/botfleet?{QUERY}"
    assert request.json()["event"] == "handoff_requested"
    assert SIG not in repr(logs) and SIG not in repr(connector)
