"""An earlier commit's code run as a baseline gets the dependencies it declared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bench import _baseline
from bench._baseline import BaselineUnavailable, missing_requirements, python_argv

ABSENT = "botfleet-no-such-distribution==1.0"


def _repo(tmp_path: Path, dependencies: list[str]) -> Path:
    listed = ", ".join(f'"{d}"' for d in dependencies)
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "x"\nversion = "0"\ndependencies = [{listed}]\n'
    )

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", "pyproject.toml")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "base")
    return tmp_path


def test_only_requirements_not_installed_here_are_missing(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        ["httpx>=0.1", ABSENT, "botfleet-never-here; python_version < '3'", "PyYAML"],
    )
    assert missing_requirements(repo, "HEAD") == [ABSENT]


def test_a_baseline_with_everything_installed_runs_on_this_interpreter(tmp_path: Path) -> None:
    repo = _repo(tmp_path, ["httpx", "jinja2"])
    assert python_argv(repo, "HEAD") == [sys.executable]


def test_missing_requirements_are_layered_on_with_uv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, ["httpx", ABSENT])
    monkeypatch.setattr(_baseline.shutil, "which", lambda name: f"/opt/bin/{name}")
    argv = python_argv(repo, "HEAD")
    assert argv[0] == "/opt/bin/uv"
    assert argv[argv.index("--with") + 1] == ABSENT
    assert argv.count("--with") == 1
    assert argv[-1] == "python"


def test_without_uv_the_error_names_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, [ABSENT])
    monkeypatch.setattr(_baseline.shutil, "which", lambda name: None)
    with pytest.raises(BaselineUnavailable, match="botfleet-no-such-distribution"):
        python_argv(repo, "HEAD")


def test_an_unknown_revision_is_reported_by_name(tmp_path: Path) -> None:
    repo = _repo(tmp_path, [])
    with pytest.raises(BaselineUnavailable, match="no-such-rev"):
        missing_requirements(repo, "no-such-rev")


def test_webchat_ab_refuses_a_base_it_cannot_read(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import webchat_ab
    from bench._report import EXIT_CANNOT_RUN

    assert webchat_ab.main(["--base", "botfleet-no-such-rev", "--rounds", "1"]) == EXIT_CANNOT_RUN
    assert "botfleet-no-such-rev" in capsys.readouterr().err
