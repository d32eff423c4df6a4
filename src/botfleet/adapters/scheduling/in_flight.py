"""Runs handed to the runtime that have not started yet, so a cancel can still stop them.

A due job leaves the job store when it fires and then waits for its contact's turn (a turn in
progress, a debounce window). A `cancel_task` or a new `schedule_task` of the same key in that
turn used to find nothing to remove, and the old reminder went out after "your appointment is
cancelled". Both schedulers record the runs they hand over here; `cancel` and `schedule` void
the waiting runs of their key, and the runtime asks `wanted(run_id)` as the run starts.
"""

from __future__ import annotations


class RunsInFlight:
    """Handed-over runs by job id; a voided run is skipped when its turn comes."""

    def __init__(self) -> None:
        self._by_job: dict[str, set[str]] = {}
        self._voided: set[str] = set()

    def start(self, run_id: str) -> None:
        self._by_job.setdefault(job_of(run_id), set()).add(run_id)

    def finish(self, run_id: str) -> None:
        job_id = job_of(run_id)
        runs = self._by_job.get(job_id)
        if runs is not None:
            runs.discard(run_id)
            if not runs:
                del self._by_job[job_id]
        self._voided.discard(run_id)

    def void(self, job_id: str, *, keep: str | None = None) -> bool:
        """Void the job's waiting runs; True if there was one not voided yet.

        `keep`: the run a `schedule` of the key asks for again (same key, same due time) is
        that same run, so it is wanted (again), not voided. Voided, it could not be told from
        the new job's run, which has its id: both would be skipped, and the reminder lost. The
        new job's run is then a repeat, which the runtime skips once the kept run has run.
        """
        runs = self._by_job.get(job_id, set())
        if keep is not None:
            self._voided.discard(keep)
        fresh = runs - self._voided - {keep}
        self._voided |= fresh
        return bool(fresh)

    def wanted(self, run_id: str) -> bool:
        return run_id not in self._voided


def job_of(run_id: str) -> str:
    """The job id a run id starts with (`rules.run_id`: `<job id>@<time>Z`)."""
    return run_id.rpartition("@")[0] or run_id
