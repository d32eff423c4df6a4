"""`botfleet.startup_problems`' one-line messages told before an app is built: invalid
settings (under the variables an operator sets, without pydantic's link, never the value) and
a host a server could not listen on (naming where it came from)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from botfleet.control_plane.settings import ControlPlaneSettings
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.startup_problems import invalid_settings, listen_problem
from botfleet.testing.runtime import make_settings

SECRET_LOOKING = "not-a-fernet-key-but-secret-0123"


@pytest.fixture(autouse=True)
def _only_the_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The control plane's settings read CP_* and `.env` too: neither may add an error here."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("CP_") or name.upper() in {"DATABASE_URL", "ADMIN_API_KEY"}:
            monkeypatch.delenv(name)


def _refused(
    model: type[ControlPlaneSettings] | type[DataPlaneSettings],
    build: Callable[..., Any],
    **values: object,
) -> str:
    with pytest.raises(ValidationError) as caught:
        build(**values)
    return invalid_settings("settings are invalid", caught.value, model)


def test_a_control_plane_field_is_named_by_its_variable_without_pydantics_link() -> None:
    line = _refused(
        ControlPlaneSettings, ControlPlaneSettings, port="abc", tenant_url_policy="nowhere"
    )

    assert line == (
        "settings are invalid: "
        "CP_PORT: Input should be a valid integer, unable to parse string as an integer; "
        "CP_TENANT_URL_POLICY: Input should be 'public' or 'any'"
    )


def test_a_field_with_aliases_is_named_by_the_first_one() -> None:
    line = _refused(ControlPlaneSettings, ControlPlaneSettings, database_url="mysql://u:p@h/db")

    assert line == (
        "settings are invalid: CP_DATABASE_URL: unsupported database scheme 'mysql' "
        "(use sqlite or postgresql)"
    )


def test_a_whole_model_check_keeps_its_own_message_and_hides_the_key() -> None:
    line = _refused(
        ControlPlaneSettings,
        ControlPlaneSettings,
        environment="production",
        fernet_keys=SECRET_LOOKING,
    )

    assert line.startswith("settings are invalid: CP_ADMIN_API_KEY is missing")
    assert "errors.pydantic.dev" not in line
    assert "Value error" not in line
    assert SECRET_LOOKING not in line
    assert "\n" not in line


def test_a_message_already_naming_its_setting_is_not_prefixed_twice() -> None:
    line = _refused(DataPlaneSettings, make_settings, DP_CACHE_KEY=SECRET_LOOKING, DP_PORT="x")

    assert line == (
        "settings are invalid: DP_CACHE_KEY: key 1 of 1 is not a Fernet key (32 url-safe "
        "base64-encoded bytes; the value is not shown); "
        "DP_PORT: Input should be a valid integer, unable to parse string as an integer"
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0.0.0.0", ""])
def test_a_host_of_this_machine_is_no_problem(host: str) -> None:
    assert listen_problem(host, "DP_HOST") is None


def test_a_host_that_does_not_resolve_is_named_with_its_setting() -> None:
    problem = listen_problem("no-such-host.invalid", "CP_HOST")

    assert problem is not None
    assert problem.startswith("cannot listen on 'no-such-host.invalid' (CP_HOST): the name ")
    assert "does not resolve" in problem
    assert "0.0.0.0 for all its interfaces" in problem


def test_an_address_of_another_machine_is_refused() -> None:
    # 192.0.2.0/24 is TEST-NET-1: documentation only, never a local interface.
    assert listen_problem("192.0.2.1", "--host") == (
        "cannot listen on '192.0.2.1' (--host): it is not an address of this machine; give an "
        "address of this machine (127.0.0.1 for this machine only, 0.0.0.0 for all its "
        "interfaces) or a name that resolves to one"
    )


def test_a_name_that_cannot_be_looked_up_is_refused() -> None:
    problem = listen_problem("a" * 64 + ".example", "DP_HOST")

    assert problem is not None
    assert problem.startswith(f"cannot listen on '{'a' * 64}.example' (DP_HOST): ")
