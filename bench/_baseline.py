"""Running an earlier commit's code as a benchmark baseline, in this checkout's environment.

A baseline is an older `src/` put first on PYTHONPATH. Its own dependencies may differ from
today's: a package it imports may have been dropped since (tenacity was, in f015a60), and the
baseline then dies on import. `missing_requirements` names what the revision's pyproject declares
and this environment lacks; `python_argv` runs the baseline with those layered on for one run
(`uv run --with ...`), or says clearly why it cannot.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement


class BaselineUnavailable(RuntimeError):
    """The baseline revision cannot be run here; the message says why."""


def declared_requirements(repo: Path, rev: str) -> list[str]:
    """`project.dependencies` of `rev`'s pyproject.toml ([] when it has none)."""
    try:
        text = subprocess.run(
            ["git", "-C", str(repo), "show", f"{rev}:pyproject.toml"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BaselineUnavailable(f"cannot read pyproject.toml of {rev} from git ({exc})") from exc
    try:
        project = tomllib.loads(text).get("project", {})
    except tomllib.TOMLDecodeError as exc:
        raise BaselineUnavailable(f"pyproject.toml of {rev}: {exc}") from exc
    return [str(r) for r in project.get("dependencies", [])]


def missing_requirements(repo: Path, rev: str) -> list[str]:
    """The requirements of `rev` that apply here and name a distribution not installed."""
    missing = []
    for text in declared_requirements(repo, rev):
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise BaselineUnavailable(f"pyproject.toml of {rev}: {text!r}: {exc}") from exc
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(text)
    return missing


def python_argv(repo: Path, rev: str) -> list[str]:
    """The command that starts a Python able to import `rev`'s code and its dependencies."""
    missing = missing_requirements(repo, rev)
    if not missing:
        return [sys.executable]
    uv = shutil.which("uv")
    if uv is None:
        raise BaselineUnavailable(
            f"{rev} needs {', '.join(missing)}, which this environment lacks, and uv is not "
            "on PATH to add them for the run"
        )
    layered = [arg for requirement in missing for arg in ("--with", requirement)]
    return [uv, "run", "--quiet", "--project", str(repo), *layered, "python"]


@contextmanager
def base_worktree(repo: Path, ref: str) -> Iterator[Path]:
    """A temporary git worktree of `ref` (its `src/` compiled once, as the checkout's own
    modules are by `ensure_bytecode`), removed afterwards. Raises CalledProcessError when git
    cannot check `ref` out."""
    folder = Path(tempfile.mkdtemp(prefix="botfleet-base-tree-"))
    tree = folder / "base"
    try:
        argv = ["git", "-C", str(repo), "worktree", "add", "--detach", str(tree), ref]
        subprocess.run(argv, check=True, capture_output=True)
        argv = [sys.executable, "-m", "compileall", "-q", str(tree / "src")]
        subprocess.run(argv, check=False, stdout=subprocess.DEVNULL)
        yield tree
    finally:
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
