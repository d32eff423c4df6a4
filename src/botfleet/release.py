"""Which build runs: the package version with the build's commit, so `/health` and the start
lines tell two releases apart (`__version__` alone is the same on every one of them).

The commit is `BOTFLEET_RELEASE` when set (the image's build argument), else the checkout's
`git rev-parse --short HEAD` when the code runs from a checkout with git at hand; neither: the
version alone. Read once per process.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

from botfleet import __version__

#: What a release label may hold: a commit, a tag, a date (anything else is left out).
_LABEL = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,39}")


@lru_cache(maxsize=1)
def release() -> str:
    """``0.1.0+4c1fc49``: the version and the build's commit, or the version alone."""
    given = os.environ.get("BOTFLEET_RELEASE", "").strip()
    label = given if _LABEL.fullmatch(given) else _checkout_commit()
    return f"{__version__}+{label}" if label else __version__


def _checkout_commit() -> str | None:
    package = Path(__file__).resolve().parent
    if not (package.parent.parent / ".git").exists():  # src/botfleet in a checkout's root
        return None
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=package,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git, or it hung
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and _LABEL.fullmatch(commit) else None
