"""A malformed tenant file is reported as flows are, `file:line path: message`, by both of its
readers: `TenantFiles.load` (`botfleet cp tenants apply`, the demo) and `read_tenant_file`
(`botfleet chat`, `test`, `graph`): the line and the key of a YAML syntax error, a repeated key
and each schema error, never an empty path nor a message without its line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from botfleet.control_plane.provision import TenantFiles, TenantFilesError
from botfleet.flows.tenant_file import read_tenant_file

FLOW = """\
id: hello_v1
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: hi
    fallback: MENU
"""


def _provision_errors(path: Path) -> list[str]:
    with pytest.raises(TenantFilesError) as caught:
        TenantFiles.load(path)
    error = caught.value
    assert isinstance(error, ValueError)  # what the CLI commands catch
    assert error.issue == error.issues[0]
    assert str(error) == "\n".join(str(issue) for issue in error.issues)
    return [str(issue) for issue in error.issues]


def _read_errors(path: Path) -> list[str]:
    tenant = read_tenant_file(path)
    assert tenant.config is None or tenant.errors  # never runnable
    return [str(issue) for issue in tenant.errors]


READERS = pytest.mark.parametrize(
    "errors", [_provision_errors, _read_errors], ids=["TenantFiles.load", "read_tenant_file"]
)


def _tenant(tmp_path: Path, text: str) -> Path:
    (tmp_path / "flow.yaml").write_text(FLOW, encoding="utf-8")
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@READERS
def test_a_syntax_error_names_the_line_and_the_key_being_read(
    tmp_path: Path, errors: Callable[[Path], list[str]]
) -> None:
    path = _tenant(
        tmp_path,
        "tenant_id: acme\nflow_path: flow.yaml\nchannel:\n  type: webchat\n"
        '  settings:\n    title: Acme\n    subtitle: "unclosed\n',
    )

    [error] = errors(path)

    assert error.startswith(f"{path}:7 channel.settings.subtitle: invalid YAML: the quote ")


@READERS
def test_schema_errors_name_the_line_and_the_key_of_each(
    tmp_path: Path, errors: Callable[[Path], list[str]]
) -> None:
    path = _tenant(
        tmp_path,
        "tenant_id: acme\nflow_path: flow.yaml\nchannel:\n  kind: webchat\n"
        "timezone: Nowhere/Land\n",
    )

    assert sorted(errors(path)) == [
        f"{path}:3 channel.type: missing required key",
        f"{path}:5 timezone: unknown time zone 'Nowhere/Land' (use an IANA name such as "
        "'Europe/Madrid')",
    ]


@READERS
def test_a_repeated_key_is_an_error_on_its_second_line(
    tmp_path: Path, errors: Callable[[Path], list[str]]
) -> None:
    path = _tenant(
        tmp_path,
        "tenant_id: acme\nname: Acme\nflow_path: flow.yaml\nchannel:\n  type: webchat\n"
        "name: Acme Salon\n",
    )

    assert errors(path) == [f"{path}:6 name: duplicate key 'name' (first defined on line 2)"]


def test_a_valid_tenant_file_loads_for_provisioning(tmp_path: Path) -> None:
    path = _tenant(tmp_path, "tenant_id: acme\nflow_path: flow.yaml\nchannel:\n  type: webchat\n")

    files = TenantFiles.load(path)

    assert files.config.tenant_id == "acme"
    assert files.flow_yaml == FLOW
    assert read_tenant_file(path).errors == []


def test_more_channels_of_the_file_reach_the_tenant(tmp_path: Path) -> None:
    path = _tenant(
        tmp_path,
        "tenant_id: acme\nflow_path: flow.yaml\nchannel: {type: webchat}\n"
        "more_channels:\n  - {type: telegram, bot_username: acme_bot}\n",
    )

    files = TenantFiles.load(path)

    assert files.bindings()["more_channels"] == [{"type": "telegram", "bot_username": "acme_bot"}]
    assert read_tenant_file(path).errors == []
