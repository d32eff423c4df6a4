"""`botfleet cp tenants list` shows every tenant, however many pages the control plane's
paginated list takes (its own module: the other CLI tests count the tenants they create)."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from botfleet.cli.main import app
from botfleet.control_plane.client import ControlPlaneClient
from botfleet.control_plane.models import TenantCreate
from botfleet.control_plane.pagination import DEFAULT_PAGE_SIZE

TENANTS = DEFAULT_PAGE_SIZE + 5


def test_tenants_list_follows_every_page(control_plane: Any) -> None:
    with ControlPlaneClient(control_plane.url, control_plane.admin_key) as client:
        for i in range(TENANTS):
            client.create_tenant(TenantCreate(id=f"shop-{i:03d}", name=f"Shop {i}"))
    env = {"BOTFLEET_CP_URL": control_plane.url, "BOTFLEET_API_KEY": control_plane.admin_key}

    result = CliRunner().invoke(app, ["cp", "tenants", "list"], env=env)

    assert result.exit_code == 0, result.stderr
    listed = [t["id"] for t in json.loads(result.stdout)]
    assert listed == [f"shop-{i:03d}" for i in range(TENANTS)]
