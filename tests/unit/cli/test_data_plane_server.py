"""`python -m botfleet.cli.main serve data-plane ...` starts the data plane without typer when
the command line is plain; anything else goes to the typer app, which knows the same options."""

from __future__ import annotations

from pathlib import Path
from typing import get_type_hints

import pytest
import typer.core
import typer.main
from typer.core import TyperOption

from botfleet.cli.commands.serve import serve_data_plane
from botfleet.cli.data_plane_server import (
    OPTIONS,
    TENANT_CONFIG_ENV,
    ServeOptions,
    plain_serve_options,
)
from botfleet.cli.main import app


@pytest.fixture(autouse=True)
def no_tenant_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TENANT_CONFIG_ENV, raising=False)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["serve", "data-plane"], ServeOptions()),
        (
            ["serve", "data-plane", "--host", "0.0.0.0", "--port", "8010", "--tenant-config", "t"],
            ServeOptions(host="0.0.0.0", port=8010, tenant_config=Path("t")),
        ),
        (
            ["serve", "data-plane", "--port=8011", "--tenant-config=a.yaml"],
            ServeOptions(port=8011, tenant_config=Path("a.yaml")),
        ),
        (["serve", "data-plane", "--port", "1", "--port", "2"], ServeOptions(port=2)),
    ],
)
def test_plain_command_lines(args: list[str], expected: ServeOptions) -> None:
    assert plain_serve_options(args) == expected


def test_tenant_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TENANT_CONFIG_ENV, "env.yaml")
    assert plain_serve_options(["serve", "data-plane"]) == ServeOptions(
        tenant_config=Path("env.yaml")
    )
    given = plain_serve_options(["serve", "data-plane", "--tenant-config", "arg.yaml"])
    assert given == ServeOptions(tenant_config=Path("arg.yaml"))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["serve"],
        ["serve", "control-plane"],
        ["validate", "flow.yaml"],
        ["serve", "data-plane", "--help"],
        ["serve", "data-plane", "--port", "abc"],
        ["serve", "data-plane", "--port"],
        ["serve", "data-plane", "--port", "--host", "h"],
        ["serve", "data-plane", "--host", ""],
        ["serve", "data-plane", "--verbose"],
        ["serve", "data-plane", "extra"],
    ],
)
def test_anything_else_goes_to_typer(args: list[str]) -> None:
    assert plain_serve_options(args) is None


def test_typer_command_has_the_same_options() -> None:
    """An option added to `botfleet serve data-plane` must be added to the typer-free path."""
    root = typer.main.get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    serve = root.commands["serve"]
    assert isinstance(serve, typer.core.TyperGroup)
    command = serve.commands["data-plane"]
    options = {opt: param for param in command.params for opt in param.opts}
    assert set(options) - {"--help"} == set(OPTIONS)
    assert options["--tenant-config"].envvar == TENANT_CONFIG_ENV
    assert not any(param.is_flag for param in command.params if isinstance(param, TyperOption))
    hints = get_type_hints(serve_data_plane)
    assert (hints["host"], hints["port"], hints["tenant_config"]) == (
        str | None,
        int | None,
        Path | None,
    )
