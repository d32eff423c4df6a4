"""`botfleet cp credentials delete --force`: secrets a binding requires are kept (exit 1,
naming the option) unless forced."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from botfleet.cli.main import app
from botfleet.control_plane.client import ControlPlaneClient
from botfleet.control_plane.models import TenantCreate

SECRETS = {"bot_token": "123456:AAH" + "f" * 30, "webhook_secret": "force-cli-1"}


def test_required_secrets_need_force_to_go(control_plane: Any) -> None:
    with ControlPlaneClient(control_plane.url, control_plane.admin_key) as client:
        client.create_tenant(
            TenantCreate(id="force-cli", name="Force", channel={"type": "telegram"})
        )
        client.set_credentials("force-cli", "channel", SECRETS)
    env = {"BOTFLEET_CP_URL": control_plane.url, "BOTFLEET_API_KEY": control_plane.admin_key}
    delete = ["cp", "credentials", "delete", "force-cli", "channel"]

    refused = CliRunner().invoke(app, delete, env=env)
    assert refused.exit_code == 1, refused.stdout
    assert "requires bot_token" in refused.stderr and "409" in refused.stderr
    assert refused.stderr.rstrip().endswith("(here: repeat the command with --force)")
    assert not any(value in refused.stderr + refused.stdout for value in SECRETS.values())
    with ControlPlaneClient(control_plane.url, control_plane.admin_key) as client:
        assert [c.scope for c in client.list_credentials("force-cli")] == ["channel"]

    done = CliRunner().invoke(app, [*delete, "--force"], env=env)
    assert done.exit_code == 0, done.stderr
    with ControlPlaneClient(control_plane.url, control_plane.admin_key) as client:
        assert client.list_credentials("force-cli") == []
