"""Where a conversation test's connector problem is: in the test's fixture, or in the tenant.

The sandbox builds each connector from the tenant's binding and the test's fixture
(`sandbox_config`), and a problem it finds is a `ConfigError` naming the tenant file. A problem
of a key the fixture wrote (`connectors.calendar.operations.book_appointment.then`, or any key
of a fixture that is the whole binding, a scripted `mock`) is the test's: it is placed on the
test file's line, so the author is sent to the file to fix.
"""

from __future__ import annotations

import re

from botfleet.domain.errors import ConfigError
from botfleet.flows.tenant_file import config_error_issues
from botfleet.flows.yaml_lines import line_of
from botfleet.testing.conversation_format import LoadedTest
from botfleet.testing.sandbox import fixture_is_binding

__all__ = ["config_error_lines"]


def config_error_lines(test: LoadedTest, exc: ConfigError) -> list[str]:
    """`exc`'s problems as `file:line key: message` lines: those of the test's fixtures in the
    test file, first and in its order, then the others in the file the error names (the
    tenant's)."""
    ours = [(k, d) for k, d in exc.problems if _in_fixture(test, k)]
    theirs = [(k, d) for k, d in exc.problems if not _in_fixture(test, k)]
    ours.sort(key=lambda problem: line_of(test.lines, problem[0]) or 0)  # in file order
    lines = [f"{test.where(key)} {key}: {detail}" for key, detail in ours]
    if theirs:
        rest = ConfigError.of(exc.source, theirs)
        lines += [str(issue) for issue in config_error_issues(rest)]
    return lines


def _in_fixture(test: LoadedTest, key: str) -> bool:
    """Whether the test's fixtures wrote `key` (`connectors.<name>...`). The longest name
    first: `connectors.notification.crm.url` is `notification.crm`'s, not `notification`'s."""
    fixtures = test.spec.connectors
    for name in sorted(fixtures, key=len, reverse=True):
        head = f"connectors.{name}"
        if key != head and not key.startswith(f"{head}."):
            continue
        fixture = fixtures[name]
        if fixture_is_binding(name, fixture):
            return True
        first = re.split(r"[.\[]", key[len(head) + 1 :], maxsplit=1)[0]
        return first in fixture
    return False
