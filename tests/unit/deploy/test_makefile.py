"""The Makefile offers the commands the README and the original specification tell users to run."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
_RULE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_-]*):(?!=)", re.MULTILINE)

#: `make ...` commands of the specification (seed-readme.md, "Commands") and the README.
DOCUMENTED = (
    "run",
    "test",
    "lint",
    "bench",
    "run-control-plane",
    "run-data-plane",
    "up",
    "down",
    "clean",
    "format",
)


def _makefile() -> str:
    return (REPO / "Makefile").read_text()


def test_every_documented_make_command_has_a_rule() -> None:
    rules = {m["name"] for m in _RULE.finditer(_makefile())}
    assert set(DOCUMENTED) <= rules, f"no rule for: {sorted(set(DOCUMENTED) - rules)}"


def test_every_phony_target_has_a_rule() -> None:
    text = _makefile()
    phony = re.search(r"^\.PHONY:(?P<names>.*)$", text, re.MULTILINE)
    assert phony is not None
    rules = {m["name"] for m in _RULE.finditer(text)}
    missing = set(phony["names"].split()) - rules
    assert not missing, f".PHONY names targets without a rule: {sorted(missing)}"


def test_the_make_commands_of_the_readme_and_docs_are_rules() -> None:
    readme = (REPO / "README.md").read_text()
    # In command lines (`make run    # comment`) and in prose (`make lint`).
    used = set(re.findall(r"^(?:\S+=\S+ )*make ([a-z-]+)", readme, re.MULTILINE))
    assert {"run", "test", "run-data-plane"} <= used  # the quick start and the dev channel
    for doc in [readme, *(path.read_text() for path in (REPO / "docs").glob("*.md"))]:
        used |= set(re.findall(r"`(?:\S+=\S+ )*make ([a-z-]+)[`\s]", doc))
    rules = {m["name"] for m in _RULE.finditer(_makefile())}
    assert used <= rules, f"the docs run targets the Makefile lacks: {sorted(used - rules)}"
