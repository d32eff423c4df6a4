"""The conversation runtime sees adapters through their ports only: what a store's failure means
(a locked or full file is `StoreUnavailable`) is the adapter's to say, and fitting outputs to a
channel is domain logic (`botfleet.domain.degrade`), not the channel adapters'. The runtime once
imported a private SQLite helper to read the job file's errors itself, and the degradation from
`botfleet.adapters.channels`. The domain it relies on imports nothing else of the project."""

from __future__ import annotations

import ast
from pathlib import Path

import botfleet.data_plane.api as api_package
import botfleet.data_plane.runtime as runtime_package
import botfleet.domain as domain_package


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def imports_of(package_file: str | None, prefix: str) -> set[str]:
    assert package_file is not None
    folder = Path(package_file).parent
    return {
        f"{path.name}: {name}"
        for path in sorted(folder.glob("*.py"))
        for name in imported_modules(path)
        if name == prefix or name.startswith(prefix + ".")
    }


def test_no_runtime_module_imports_an_adapter() -> None:
    assert imports_of(runtime_package.__file__, "botfleet.adapters") == set()


def test_the_domain_imports_nothing_else_of_the_project() -> None:
    found = imports_of(domain_package.__file__, "botfleet")
    assert {f for f in found if not f.split(": ")[1].startswith("botfleet.domain")} == set()


def test_the_data_plane_api_reaches_the_scheduler_through_its_port() -> None:
    """`/tasks` names a manual run with the port's `run_id`; it once imported the scheduling
    adapter's rules for it. The usage route's month pattern and record are the LLM quota's own."""
    found = imports_of(api_package.__file__, "botfleet.adapters")
    assert found == {"usage.py: botfleet.adapters.llm.quota"}
