"""The conversation runtime sees stores and the scheduler through their ports only: what a
store's failure means (a locked or full file is `StoreUnavailable`) is the adapter's to say.
The runtime once imported a private SQLite helper to read the job file's errors itself."""

from __future__ import annotations

import ast
from pathlib import Path

import botfleet.data_plane.runtime as runtime_package

#: Adapters whose errors and details the runtime must not know (their ports say enough).
BEHIND_PORTS = ("botfleet.adapters.stores", "botfleet.adapters.scheduling")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_runtime_module_imports_a_store_or_scheduler_adapter() -> None:
    folder = Path(runtime_package.__file__).parent
    found = {
        f"{path.name}: {name}"
        for path in sorted(folder.glob("*.py"))
        for name in imported_modules(path)
        if name.startswith(BEHIND_PORTS)
    }
    assert found == set()
