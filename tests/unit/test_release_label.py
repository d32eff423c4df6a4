"""`release()`: the package version with the build's commit, so two builds are told apart."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from botfleet import __version__
from botfleet.release import release


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    release.cache_clear()
    yield
    release.cache_clear()


def test_the_build_argument_names_the_release(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOTFLEET_RELEASE", "4c1fc49")
    assert release() == f"{__version__}+4c1fc49"


@pytest.mark.parametrize("label", ["a b", "x" * 41, "$(id)", "-rf"])
def test_a_label_that_is_no_commit_or_tag_is_not_shown(
    label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOTFLEET_RELEASE", label)
    assert label not in release()
    assert release().startswith(__version__)


def test_a_checkout_names_its_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOTFLEET_RELEASE", raising=False)
    root = Path(__file__).resolve().parents[2]
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
    )
    if head.returncode != 0 or not (root / "src" / "botfleet").exists():
        pytest.skip("not run from a git checkout")
    import botfleet

    if Path(botfleet.__file__).resolve().parents[2] != root:
        pytest.skip("the package imported is another checkout's")
    assert release() == f"{__version__}+{head.stdout.strip()}"
