"""Static checks of a `schedule_task` action: its task, its `delay`, its `run_late_within`. Pure."""

from __future__ import annotations

from datetime import timedelta

from botfleet.flows._issues import IssueCollector
from botfleet.flows.durations import parse_duration
from botfleet.flows.render import is_template
from botfleet.flows.schema import MAX_RUN_LATE_WITHIN, ScheduleTask

#: APScheduler counts a misfire window in whole seconds, and a job found due is always a little
#: late: a shorter window would mean "never run late", which leaving the job out says better.
MIN_RUN_LATE_WITHIN = timedelta(seconds=1)


def check_run_late_within(action: ScheduleTask, path: str, collector: IssueCollector) -> None:
    """`run_late_within` is a plain duration from 1s to `MAX_RUN_LATE_WITHIN`; a literal
    `delay` shorter than it gets a warning (a likely slip of units)."""
    text = action.run_late_within
    if text is None:
        return
    where = f"{path}.run_late_within"
    window = parse_run_late_within(text)
    if isinstance(window, str):
        collector.error(where, window)
        return
    delay = _literal_duration(action.delay)
    if delay is not None and window > delay:
        collector.warning(
            where,
            f"run_late_within {text!r} is longer than the delay {action.delay!r}: after an "
            "outage the task can come more than twice as late as asked; shorten it unless "
            "the task is still worth sending that late",
        )


def parse_run_late_within(text: str) -> timedelta | str:
    """The window `text` gives, or why it is refused (the message of a flow error)."""
    if is_template(text):
        return (
            f"run_late_within {text!r} is not a template: write a duration such as 30m or 3h "
            "(it is read when the flow is loaded)"
        )
    if text.strip().startswith("-"):
        return f"run_late_within {text!r} is negative: write how late the task may still run"
    try:
        window = parse_duration(text)
    except ValueError as exc:
        return f"run_late_within: {exc}"
    if window < MIN_RUN_LATE_WITHIN:
        return (
            f"run_late_within {text!r} is shorter than 1s (the scheduler counts whole seconds); "
            "leave it out for the data plane's grace window"
        )
    if window > MAX_RUN_LATE_WITHIN:
        return (
            f"run_late_within {text!r} is longer than the most allowed, "
            f"{MAX_RUN_LATE_WITHIN.days}d: a task that much late is no longer a reminder"
        )
    return window


def _literal_duration(text: str | None) -> timedelta | None:
    if text is None or is_template(text):
        return None
    try:
        return parse_duration(text)
    except ValueError:  # reported as the delay's own error
        return None
