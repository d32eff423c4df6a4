"""Hypothesis profiles for the whole suite.

`make test` explores new examples on every run, so a developer's machine keeps finding cases.
CI (`.ci/run`, HYPOTHESIS_PROFILE=ci) runs the same examples on every run of the same code:
a red CI then means the change broke something, not that this run drew an unlucky case; a
case found locally is pinned with `@example` where it failed.
Neither profile has a per-example deadline: these tests check what the code does, not how
fast (speed is measured under bench/), and a loaded CI machine must not fail them for time.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
