"""`botfleet cp tenants update --drop-stale-credentials`: a channel type change that strands the
old type's stored secrets is refused (exit 1, naming them) unless the flag deletes them."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from botfleet.cli.main import app
from botfleet.control_plane.client import ControlPlaneClient
from botfleet.control_plane.models import TenantCreate

SECRETS = {"access_token": "EAA-cli-stale-1", "app_secret": "s-cli-2", "verify_token": "v-cli-3"}


def test_a_type_change_needs_the_flag_to_drop_stranded_secrets(control_plane: Any) -> None:
    with ControlPlaneClient(control_plane.url, control_plane.admin_key) as client:
        client.create_tenant(
            TenantCreate(
                id="stale-cli", name="Stale", channel={"type": "whatsapp", "phone_number_id": "7"}
            )
        )
        client.set_credentials("stale-cli", "channel", SECRETS)
    env = {"BOTFLEET_CP_URL": control_plane.url, "BOTFLEET_API_KEY": control_plane.admin_key}
    update = ["cp", "tenants", "update", "stale-cli", "--channel", '{"type": "telegram"}']

    refused = CliRunner().invoke(app, update, env=env)
    assert refused.exit_code == 1, refused.stdout
    assert "access_token" in refused.stderr and "409" in refused.stderr
    # The API's query named, and the command's own option.
    assert "?drop_stale_credentials=true" in refused.stderr
    assert refused.stderr.rstrip().endswith(
        "(here: repeat the command with --drop-stale-credentials)"
    )
    assert not any(value in refused.stderr + refused.stdout for value in SECRETS.values())

    done = CliRunner().invoke(app, [*update, "--drop-stale-credentials"], env=env)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["channel"] == {"type": "telegram"}
    with ControlPlaneClient(control_plane.url, control_plane.admin_key) as client:
        assert [c.scope for c in client.list_credentials("stale-cli")] == []
