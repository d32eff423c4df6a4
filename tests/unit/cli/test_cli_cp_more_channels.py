"""`botfleet cp tenants create|update --more-channels '<JSON list>'`: sent as the tenant's
more_channels (an update replacing the whole list, and warning of a channel it removed); a
create without them sends none, as a control plane from before them would refuse the field."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx
from typer.testing import CliRunner, Result

from botfleet.cli.main import app

URL = "http://cp.test"
KEY = "sk-cli-more-channels-2468"
TELEGRAM = {"type": "telegram", "bot_username": "acme_bot"}
WEBCHAT = {"type": "webchat"}


def cp(*args: str) -> Result:
    env = {"BOTFLEET_CP_URL": URL, "BOTFLEET_API_KEY": KEY}
    return CliRunner().invoke(app, ["cp", *args], env=env)


def tenant(**fields: Any) -> dict[str, Any]:
    return {
        "id": "acme", "name": "Acme", "timezone": "UTC", "language": "en", "status": "active",
        "channel": {"type": "whatsapp", "phone_number_id": "42"}, "more_channels": [],
        "connectors": {}, "llm": {}, "data_plane_url": None, "published_flow_version": None,
        "published_knowledge_version": None, "created_at": "2026-12-01T09:00:00Z",
        "updated_at": "2026-12-01T09:00:00Z", **fields,
    }  # fmt: skip


def test_create_sends_the_more_channels_given() -> None:
    with respx.mock() as mock:
        route = mock.post(f"{URL}/v1/tenants").mock(
            return_value=httpx.Response(
                201, json={"tenant": tenant(more_channels=[TELEGRAM]), "boot_token": "bfb_1"}
            )
        )
        result = cp(
            "tenants", "create", "acme",
            "--channel", '{"type": "whatsapp", "phone_number_id": "42"}',
            "--more-channels", json.dumps([TELEGRAM]),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert json.loads(route.calls[0].request.content)["more_channels"] == [TELEGRAM]
        assert json.loads(result.stdout)["tenant"]["more_channels"] == [TELEGRAM]

        assert cp("tenants", "create", "acme").exit_code == 0
        assert "more_channels" not in json.loads(route.calls[1].request.content)


def test_update_replaces_the_list_and_warns_of_a_channel_it_removed() -> None:
    answer = tenant(more_channels=[WEBCHAT], before={"more_channels": [TELEGRAM, WEBCHAT]})
    with respx.mock() as mock:
        route = mock.patch(f"{URL}/v1/tenants/acme").mock(
            return_value=httpx.Response(200, json=answer)
        )
        result = cp("tenants", "update", "acme", "--more-channels", json.dumps([WEBCHAT]))

    assert result.exit_code == 0, result.output
    assert json.loads(route.calls[0].request.content) == {"more_channels": [WEBCHAT]}
    assert result.stderr.splitlines() == [
        "warning: --more-channels replaces the whole list: the update removed the telegram "
        "channel (its credentials stay); to keep it, give it in --more-channels too"
    ]


def test_more_channels_must_be_a_json_list() -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.patch(f"{URL}/v1/tenants/acme")
        result = cp("tenants", "update", "acme", "--more-channels", json.dumps(TELEGRAM))

    assert result.exit_code == 2
    assert "give a JSON list ([] for none)" in result.output
    assert not route.called
