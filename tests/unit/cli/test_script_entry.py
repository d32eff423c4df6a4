"""The `botfleet` script runs `botfleet.cli.main:main`, which starts a plain
`serve data-plane` without typer (each tenant's container: ~2 MB of RSS less) and hands any
other command line to the typer app: for every command line, what reaches the server (or the
command), the exit code and the output are those of the typer app."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

from botfleet.cli import data_plane_server
from botfleet.cli.data_plane_server import TENANT_CONFIG_ENV, ServeOptions
from botfleet.cli.main import app, main


def test_the_script_runs_main() -> None:
    (script,) = entry_points(group="console_scripts", name="botfleet")
    assert script.value == "botfleet.cli.main:main"


def run(
    entry: str, args: list[str], capsys: pytest.CaptureFixture[str], served: list[ServeOptions]
) -> tuple[int, list[ServeOptions], str, str]:
    served.clear()
    try:
        if entry == "main":
            main(args)
            code = 0
        else:
            app(args=args)
            code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    out, err = capsys.readouterr()
    return code, list(served), out, err


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "data-plane"],
        ["serve", "data-plane", "--host", "0.0.0.0", "--port", "8010", "--tenant-config", "t"],
        ["serve", "data-plane", "--port=8011", "--tenant-config=a.yaml"],
        ["serve", "data-plane", "--port", "1", "--port", "2"],
        ["serve", "data-plane", "--port", "08", "--host=h"],
        ["serve", "data-plane", "--tenant-config", "~/t.yaml"],
        # typer's (help, errors, other options or commands)
        ["serve", "data-plane", "--port", "abc"],
        ["serve", "data-plane", "--port"],
        ["serve", "data-plane", "--host", ""],
        ["serve", "data-plane", "--verbose"],
        ["serve", "data-plane", "extra"],
        ["serve", "data-plane", "--help"],
        ["serve"],
        ["--help"],
        ["no-such-command"],
    ],
)
@pytest.mark.parametrize("env_config", [None, "", "env.yaml"])
def test_main_does_what_the_typer_app_does(
    args: list[str],
    env_config: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served: list[ServeOptions] = []
    monkeypatch.setattr(data_plane_server, "serve_data_plane", served.append)
    monkeypatch.setenv("COLUMNS", "100")  # typer's help and errors: the same width each time
    if env_config is None:
        monkeypatch.delenv(TENANT_CONFIG_ENV, raising=False)
    else:
        monkeypatch.setenv(TENANT_CONFIG_ENV, env_config)
    expected = run("app", args, capsys, served)
    assert run("main", args, capsys, served) == expected
    if args[:2] == ["serve", "data-plane"] and expected[0] == 0 and "--help" not in args:
        assert len(expected[1]) == 1  # the server was started, once
        if env_config == "env.yaml" and "--tenant-config" not in " ".join(args):
            assert expected[1][0].tenant_config == Path("env.yaml")
