"""A data plane whose tenant volume (`DP_DATA_DIR`) cannot be used: the pull from the control
plane still works (the cached copy is only skipped), and the start then fails with one line
naming the folder and the setting, which `serve data-plane` prints with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from boot_harness import cp_transport, dp_settings
from cp_harness import ControlPlane

from botfleet.data_plane.app import create_app
from botfleet.data_plane.config_source import pull_boot_config
from botfleet.domain.errors import ConfigError
from botfleet.startup_problems import startup_problem


async def test_a_pulled_tenant_on_a_data_dir_under_a_file_fails_its_start_in_one_line(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", publish=True)
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    settings = dp_settings(tmp_path, token, data_dir=tmp_path / "a-file" / "dp")
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    assert booted.origin == "control_plane"
    assert not booted.cache_saved
    app = create_app(settings, boot=booted)

    with pytest.raises(ConfigError) as caught:
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover

    expected = (
        f"environment: DP_DATA_DIR: cannot create the folder {tmp_path / 'a-file' / 'dp' / 'acme'}"
        f": {tmp_path / 'a-file'} is not a directory"
    )
    assert str(caught.value) == expected
    assert startup_problem(app) == expected
