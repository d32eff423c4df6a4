"""How long `botfleet fleet watch` waits before restarting a tenant's data plane again.

A data plane that cannot start (a bad configuration, a full disk, its state held by another
process) exits within a second. Restarted at every check, it was started again every 15 s
forever, each start a boot pull from the control plane and a JSON line in the watch's log. The
pause after a restart doubles with each restart of a streak, from the check interval up to
`cap_s`; the streak ends once the data plane has been seen running `stable_s` after its last
restart, or when it is stopped.

The streaks are kept in a file under the fleet's root (`run/watch.json`), so that `watch --once`
run from cron every minute backs off as the long-running `watch` does.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path

#: The longest pause between two restarts of a data plane that keeps failing.
CAP_S = 300.0
#: How long a data plane must be seen up after a restart for its streak to end.
STABLE_S = 300.0


@dataclass(slots=True)
class Streak:
    """A tenant's restarts since its data plane last stayed up."""

    restarts: int
    restarted_at: float  # wall-clock time (the record outlives the process): time.time()
    told: str = ""  # the start-up refusal already printed for this streak


class RestartBackoff:
    """Per-tenant restart streaks, kept in `path` (None: in memory only)."""

    def __init__(
        self,
        path: Path | None,
        *,
        first_s: float,
        cap_s: float = CAP_S,
        stable_s: float = STABLE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.first_s = first_s
        self.cap_s = cap_s
        self.stable_s = stable_s
        self.clock = clock
        self._streaks = self._load()

    def wait_s(self, tenant: str) -> float:
        """Seconds before the tenant's data plane may be restarted again (0: now)."""
        streak = self._streaks.get(tenant)
        if streak is None:
            return 0.0
        elapsed = self.clock() - streak.restarted_at
        if elapsed < 0:  # the clock was set back: a pause must not last until it catches up
            return 0.0
        return max(0.0, self.pause_s(streak.restarts) - elapsed)

    def pause_s(self, restarts: int) -> float:
        """The least time after the `restarts`-th restart of a streak before the next one."""
        if restarts <= 0:
            return 0.0
        return min(self.first_s * 2.0 ** min(restarts - 1, 32), self.cap_s)

    def restarted(self, tenant: str) -> float:
        """Count a restart (or a refused attempt) now; the pause before the next one."""
        streak = self._streaks.get(tenant)
        restarts = 1 if streak is None else streak.restarts + 1
        told = "" if streak is None else streak.told
        self._streaks[tenant] = Streak(restarts, self.clock(), told)
        self._save()
        return self.pause_s(restarts)

    def first_telling(self, tenant: str, refusal: str | None) -> bool:
        """Whether to print a restart whose data plane had refused to start with `refusal`
        (None: it did not refuse, it died): once per distinct refusal in a streak."""
        streak = self._streaks.get(tenant)
        if streak is None:
            return True
        told, streak.told = streak.told, refusal or ""
        self._save()
        return refusal is None or refusal != told

    def seen_up(self, tenant: str) -> None:
        """The tenant's data plane runs: its streak ends once it has run `stable_s`."""
        streak = self._streaks.get(tenant)
        if streak is not None and not 0 <= self.clock() - streak.restarted_at < self.stable_s:
            self.forget(tenant)

    def forget(self, tenant: str) -> None:
        """End the tenant's streak (stopped, deleted: its next failure starts afresh)."""
        if self._streaks.pop(tenant, None) is not None:
            self._save()

    def keep_only(self, tenants: list[str]) -> None:
        """Forget the streaks of tenants no longer under the root (deleted)."""
        gone = set(self._streaks) - set(tenants)
        for tenant in gone:
            del self._streaks[tenant]
        if gone:
            self._save()

    def _load(self) -> dict[str, Streak]:
        if self.path is None:
            return {}
        try:
            records = json.loads(self.path.read_text(encoding="utf-8"))
            streaks = {tenant: Streak(**fields) for tenant, fields in records.items()}
        except (OSError, ValueError, TypeError, AttributeError):  # none yet, or damaged
            return {}
        return {tenant: streak for tenant, streak in streaks.items() if _valid(streak)}

    def _save(self) -> None:
        if self.path is None:
            return
        records = {tenant: asdict(streak) for tenant, streak in self._streaks.items()}
        # Not saved (a full disk): this process still backs off, a later `--once` does not.
        with suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            partial = self.path.with_name(f"{self.path.name}.partial")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(records, sort_keys=True))
            partial.replace(self.path)


def _valid(streak: Streak) -> bool:
    # An edited record must not stop `watch` with a TypeError at its next check.
    return (
        type(streak.restarts) is int
        and type(streak.restarted_at) in (int, float)
        and type(streak.told) is str
    )
