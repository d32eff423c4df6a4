"""The services (control plane, data plane) and the flow core never import the test kit
(`botfleet.testing`: fakes, the sandbox) or the CLI: what runs in production is what their
tests exercise. The control plane once read tenant files through `botfleet.testing`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import botfleet

SOURCE = Path(botfleet.__file__).parent


def _project_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.startswith("botfleet.")}


@pytest.mark.parametrize("package", ["control_plane", "data_plane", "flows", "domain", "ports"])
def test_a_service_or_the_core_imports_neither_the_test_kit_nor_the_cli(package: str) -> None:
    found = {
        f"{path.relative_to(SOURCE)}: {name}"
        for path in sorted((SOURCE / package).rglob("*.py"))
        for name in _project_imports(path)
        if name.split(".")[1] in {"testing", "cli"}
    }
    assert found == set()
