"""`warnings_of`: a run's diagnostics as its answer's `warnings`. A detail made of the flow's
own words is given as it is; one that quotes a rendered value, an exception's text or a
connector's error (which may name a person) is replaced by a fixed message; repeats are given
once, and a long list is cut."""

from __future__ import annotations

from botfleet.data_plane.api.tasks import MAX_WARNINGS, warnings_of
from botfleet.flows.effects import Diagnostic

PHONE = "+351 912 345 678"


def test_the_flows_own_words_are_given_as_they_are() -> None:
    [warning] = warnings_of(
        [Diagnostic("warning", "template_missing_value", "tasks.r[0].text", "missing value 'x'")]
    )
    assert warning.model_dump() == {
        "code": "template_missing_value",
        "message": "missing value 'x'",
        "where": "tasks.r[0].text",
    }


def test_details_that_quote_values_are_replaced() -> None:
    diagnostics = [
        Diagnostic("warning", "bad_option_id", "a", f"option id {PHONE!r} repeats"),
        Diagnostic("warning", "template_failed", "b", f"ValueError: {PHONE} is not a date"),
        Diagnostic("error", "connector_failed", "c", f"crm.find: not_found {PHONE}"),
        Diagnostic("error", "template_error", "d", f"TypeError: {PHONE}"),
        Diagnostic("error", "something_new", "e", PHONE),
    ]

    warnings = warnings_of(diagnostics)

    assert [w.code for w in warnings] == [d.event for d in diagnostics]
    assert all("912" not in w.message for w in warnings)
    assert warnings[-1].message == "see the data plane's something_new log line"


def test_a_strict_templates_missing_value_is_named() -> None:
    [warning] = warnings_of([Diagnostic("error", "template_error", "w", "missing value 'time'")])
    assert warning.message == "strict_templates: missing value 'time', so that step sent nothing"


def test_repeats_are_given_once_and_the_list_is_cut() -> None:
    same = Diagnostic("warning", "template_missing_value", "w", "missing value 'x'")
    assert len(warnings_of([same] * 3)) == 1
    many = [
        Diagnostic("warning", "template_missing_value", f"w{i}", "missing value 'x'")
        for i in range(MAX_WARNINGS + 10)
    ]
    assert len(warnings_of(many)) == MAX_WARNINGS
