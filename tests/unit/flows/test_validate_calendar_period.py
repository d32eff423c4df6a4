"""A calendar call's literal `period` that the connector would refuse is an error of the flow
alone, on the param's line, read with the connector's own parser (`domain.calendar_period`);
a templated one is only known once rendered and is not read."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent, indent

import pytest

from botfleet.adapters.connectors.calendar import slots
from botfleet.adapters.connectors.calendar.params import Params
from botfleet.cli.validation import validate_file
from botfleet.domain import calendar_period
from botfleet.domain.errors import ConnectorRejected, FlowIssue, FlowValidationError
from botfleet.flows.load import load_flow, load_flow_text


def period_path(index: int) -> str:
    """The path of the `period` of the call at `index`."""
    return f"states.A.on_enter[{index}].params.period"


PATH = period_path(0)


def call(period: object, operation: str = "get_slots_for_day", connector: str = "calendar") -> str:
    """One `invoke_connector` action, its `period` on its sixth line."""
    return dedent(
        f"""\
        - action: invoke_connector
          connector: {connector}
          operation: {operation}
          params:
            date_str: "2024-05-06"
            period: {json.dumps(period, ensure_ascii=False)}
          result_key: slots
        """
    )


def flow(*calls: str) -> str:
    """A flow whose state `A` makes `calls` on entry: the period of call `i` is on line
    ``11 + 7 * i``."""
    actions = indent("".join(calls), " " * 6)
    return f"id: x\ninitial_state: A\nstates:\n  A:\n    on_enter:\n{actions}    fallback: A\n"


def calling(
    period: object, operation: str = "get_slots_for_day", connector: str = "calendar"
) -> str:
    return flow(call(period, operation, connector))


def errors(text: str) -> list[FlowIssue]:
    try:
        load_flow_text(text, "flows/x.yaml")
    except FlowValidationError as exc:
        return [i for i in exc.issues if i.severity == "error"]
    return []


def test_a_range_without_minutes_is_an_error_on_the_params_line() -> None:
    (issue,) = errors(calling("20-23"))
    assert str(issue) == (
        f"flows/x.yaml:11 {PATH}: param 'period' must be a time range HH:MM-HH:MM such as "
        "'20:00-23:30', got '20-23': '20' is not a time (expected HH:MM, e.g. 09:30)"
    )


@pytest.mark.parametrize(
    ("period", "operation", "connector", "says"),
    [
        ("25:00-26:00", "get_slots_for_day", "calendar", "'25:00' is not a valid time of day"),
        ("25:00-26:00", "get_available_days", "calendar", "'25:00' is not a valid time of day"),
        ("21:00-20:00", "get_available_days", "calendar.chair_2", "cannot cross midnight"),
        ("20:00-23:30-24:00", "get_slots_for_day", "calendar.chair_2", "two times joined"),
        (2023, "get_slots_for_day", "calendar", "got '2023'"),
    ],
    ids=["out-of-day", "out-of-day-days", "backwards-binding", "three-times", "number"],
)
def test_a_malformed_literal_period_is_an_error(
    period: object, operation: str, connector: str, says: str
) -> None:
    (issue,) = errors(calling(period, operation, connector))
    assert (issue.path, issue.line, issue.source) == (PATH, 11, "flows/x.yaml")
    assert issue.message.startswith("param 'period' must be ")
    assert says in issue.message


def test_a_misspelt_word_is_told_the_word_meant() -> None:
    (issue,) = errors(calling("mornin"))
    assert issue.message == (
        "param 'period' must be morning, afternoon, empty or a time range HH:MM-HH:MM such as "
        "'20:00-23:30', got 'mornin' (did you mean 'morning'?)"
    )


@pytest.mark.parametrize(
    "period",
    [
        "20:00-23:30",
        "13:00-16:00",
        "0:00-24:00",
        "morning",
        "Afternoon",
        "all",
        "",
        " ",
        "mañana",
        "manana",
        "Tarde",
        None,
    ],
    ids=lambda value: repr(value),
)
def test_a_good_literal_period_is_no_error(period: str | None) -> None:
    text = flow(call(period), call(period, "get_available_days", "calendar.chair_2"), call("20-23"))
    assert [(i.path, i.line) for i in errors(text)] == [(period_path(2), 25)]


@pytest.mark.parametrize(
    "period",
    ["{{ data.period }}", "{{data.meal}}", "{{ data.start }}-23:00", "{% if 1 %}x{% endif %}"],
)
def test_a_templated_period_is_not_read(period: str) -> None:
    text = flow(call(period), call(period, "get_available_days"), call("20-23"))
    assert [(i.path, i.line) for i in errors(text)] == [(period_path(2), 25)]


@pytest.mark.parametrize(
    ("operation", "connector"),
    [("book_appointment", "calendar"), ("send", "notification"), ("get_slots_for_day", "mock")],
)
def test_a_call_that_reads_no_period_is_left_alone(operation: str, connector: str) -> None:
    text = flow(call("20-23", operation, connector), call("20-23"))
    assert [(i.path, i.line) for i in errors(text)] == [(period_path(1), 18)]


AGREEMENT = [
    *("20-23", "25:00-26:00", "21:00-20:00", "evening", "mornin", "10:00", "24:00-24:00"),
    *("9:00-9:30", "20:00-23:30", "MAÑANA", "tarde", "all", "", "00:00-24:00", "23:59-24:00"),
]


def refused_by_connector(period: str) -> bool:
    try:
        Params("get_slots_for_day", {"period": period}).period()
    except ConnectorRejected:
        return True
    return False


def test_the_validator_reports_exactly_what_the_connector_refuses() -> None:
    refused = [p for p in AGREEMENT if refused_by_connector(p)]
    flagged = [p for p in AGREEMENT if errors(calling(p))]
    assert flagged == refused == AGREEMENT[:7]


def test_the_connector_reads_periods_with_the_domains_parser() -> None:
    assert slots.parse_period is calendar_period.parse_period


def test_validate_on_a_flow_file_reports_it(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(calling("20-23"), encoding="utf-8")
    with pytest.raises(FlowValidationError):
        load_flow(flow)
    (finding,) = validate_file(flow).findings
    assert (finding.file, finding.line, finding.path) == (str(flow), 11, PATH)
    assert finding.severity == "error"
    assert "got '20-23'" in finding.message
