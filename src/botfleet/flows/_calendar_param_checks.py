"""Static checks of a calendar call's literal params. Pure.

A param written as a template is only known once rendered, so only literal values are read,
with the parser the calendar connector reads them with at run time (`domain.calendar_period`):
a literal that it refuses would fail every call, so it is an error of the flow.
"""

from __future__ import annotations

from botfleet.domain.calendar_period import PERIOD_NAMES, parse_period_param
from botfleet.flows._issues import IssueCollector, did_you_mean
from botfleet.flows.connector_names import connector_category
from botfleet.flows.render import is_template
from botfleet.flows.schema import InvokeConnector
from botfleet.flows.yaml_lines import key_path

#: The calendar operations that read a `period` (docs/flow-dsl.md, "Slot rules").
PERIOD_OPERATIONS = frozenset({"get_available_days", "get_slots_for_day"})


def check_calendar_params(action: InvokeConnector, path: str, collector: IssueCollector) -> None:
    """Errors for the literal params of `action` that its calendar operation would refuse;
    a call to another category, or to an operation without such params, is left alone."""
    if connector_category(action.connector) != "calendar":
        return
    if action.operation in PERIOD_OPERATIONS:
        _check_period(action.params.get("period"), key_path(path, "params.period"), collector)


def _check_period(value: object, path: str, collector: IssueCollector) -> None:
    # The connector reads a number as its text (`Params.text`); None or blank is the whole day.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or is_template(value):
        return
    try:
        parse_period_param(value)
    except ValueError as exc:
        word = value.strip().lower()
        hint = "" if any(c.isdigit() for c in word) else did_you_mean(word, PERIOD_NAMES)
        collector.error(path, f"param 'period' {exc}{hint}")
