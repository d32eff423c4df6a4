"""`DataPlaneSettings.given_by`: which variable gave a setting its value, for start-up messages
(a stray unprefixed `HOST` left by another program is named as such, not as `DP_HOST`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.testing.runtime import make_settings


@pytest.fixture(autouse=True)
def _no_host_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no `.env` but the one a test writes
    for name in list(os.environ):
        if name.lower() in {"host", "dp_host"}:
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("environment", "dotenv", "given_by", "host"),
    [
        ({"DP_HOST": "10.0.0.1"}, None, "DP_HOST", "10.0.0.1"),
        ({"HOST": "shell-machine"}, None, "HOST", "shell-machine"),
        ({"DP_HOST": "10.0.0.1", "HOST": "shell-machine"}, None, "DP_HOST", "10.0.0.1"),
        ({"host": "lower-case"}, None, "host", "lower-case"),
        ({}, "HOST=from-dotenv\n", "HOST in .env", "from-dotenv"),
        ({"HOST": "shell-machine"}, "DP_HOST=10.0.0.2\n", "HOST", "shell-machine"),
        ({}, "HOST\n", None, "127.0.0.1"),  # a name without a value does not count
        ({}, None, None, "127.0.0.1"),
    ],
)
def test_the_variable_named_is_the_one_whose_value_is_used(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    environment: dict[str, str],
    dotenv: str | None,
    given_by: str | None,
    host: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv, encoding="utf-8")

    assert DataPlaneSettings.given_by("host") == given_by
    assert DataPlaneSettings().host == host


def test_settings_that_read_no_environment_name_no_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOST", "shell-machine")

    settings = make_settings()

    assert type(settings).given_by("host") is None
    assert settings.host == "127.0.0.1"
