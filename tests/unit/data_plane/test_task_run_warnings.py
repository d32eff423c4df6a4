"""`warnings_of`: a run's diagnostics as its answer's `warnings`. A detail made of the flow's
own words is given as it is; one that quotes a rendered value, an exception's text or a
connector's error (which may name a person) is replaced by a fixed message; repeats are given
once, and a long list is cut.

A missing value is named only when its name is a plain name the flow writes at that place: a
template that looks a value up by content (`data[data.name]`) misses a value named by a
contact's data, which an editor (who may upload flows and run tasks) must not read this way."""

from __future__ import annotations

from typing import Any

from botfleet.data_plane.api.tasks import MAX_WARNINGS, UNNAMED_MISSING_VALUE, warnings_of
from botfleet.domain.errors import TemplateError
from botfleet.flows.effects import Diagnostic
from botfleet.flows.render import Renderer
from botfleet.flows.schema import FlowSpec

PHONE = "+351 912 345 678"


def flow_with(text: str, **extra: Any) -> FlowSpec:
    return FlowSpec.model_validate(
        {
            "id": "f",
            "initial_state": "IDLE",
            "tasks": {"r": [{"action": "send_text", "text": text}]},
            "states": {"IDLE": {"fallback": "IDLE"}},
            **extra,
        }
    )


def test_the_flows_own_words_are_given_as_they_are() -> None:
    [warning] = warnings_of(
        [Diagnostic("warning", "template_missing_value", "tasks.r[0].text", "missing value 'x'")],
        flow_with("Hi {{ data.x }}"),
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
    flow = flow_with("At {{ data.time }}")
    diagnostic = Diagnostic("error", "template_error", "tasks.r[0].text", "missing value 'time'")
    [warning] = warnings_of([diagnostic], flow)
    assert warning.message == "strict_templates: missing value 'time', so that step sent nothing"


def test_repeats_are_given_once_and_the_list_is_cut() -> None:
    same = Diagnostic("warning", "template_missing_value", "w", "missing value 'x'")
    assert len(warnings_of([same] * 3)) == 1
    many = [
        Diagnostic("warning", "template_missing_value", f"w{i}", "missing value 'x'")
        for i in range(MAX_WARNINGS + 10)
    ]
    assert len(warnings_of(many)) == MAX_WARNINGS


CONTACT_DATA = {"name": "Maria Lopez", "phone": "+34 600 111 222", "note": "allergic to latex"}
PERSONAL = ("Maria", "Lopez", "600", "111", "222", "34600111222", "latex")
LEAK = (
    "Hi {{ data[data.name] }} {{ data[data.phone] }} {{ data[contact.id] }} "
    "{{ data[data.note ~ ' / ' ~ data.phone] }} {{ data[data.first] }} {{ data.missing }}"
)


def rendered(source: str, data: dict[str, Any], *, strict: bool = False) -> list[Diagnostic]:
    sink: list[Diagnostic] = []
    variables = {"data": data, "contact": {"id": "34600111222"}}
    try:
        Renderer(variables, sink=sink, strict=strict).text(source, "tasks.r[0].text")
    except TemplateError as exc:  # strict: the turn's loop makes the diagnostic of it
        sink.append(Diagnostic("error", "template_error", exc.where, exc.detail))
    return sink


def test_a_value_looked_up_by_a_contacts_data_is_not_named() -> None:
    data = {**CONTACT_DATA, "first": "Maria"}  # a one-word value passes as a name
    diagnostics = rendered(LEAK, data)
    # Nor does the renderer (its diagnostics are the data plane's log lines): five values
    # looked up by content are one unnamed missing value, and `data.missing` is named.
    assert [d.detail for d in diagnostics] == [
        "missing value '<a looked-up key>'",
        "missing value 'missing'",
    ]

    warnings = warnings_of(diagnostics, flow_with(LEAK))

    messages = [w.message for w in warnings]
    assert not [m for m in messages if any(value in m for value in PERSONAL)], messages
    assert messages == [UNNAMED_MISSING_VALUE, "missing value 'missing'"]


def test_a_name_written_elsewhere_in_the_flow_only_is_not_given() -> None:
    # `Maria` is in the flow, but not in the template that missed it.
    flow = flow_with(LEAK, states={"IDLE": {"fallback": "IDLE", "on_enter": [
        {"action": "send_text", "text": "Maria"}]}})  # fmt: skip
    warnings = warnings_of(rendered(LEAK, {**CONTACT_DATA, "first": "Maria"}), flow)
    assert all("Maria" not in w.message for w in warnings)


def test_a_strict_templates_value_looked_up_by_content_is_not_named() -> None:
    source = "Hi {{ data[data.name] }}"
    [warning] = warnings_of(rendered(source, CONTACT_DATA, strict=True), flow_with(source))
    assert warning.code == "template_error"
    assert "Maria" not in warning.message
    assert warning.message.startswith("strict_templates: a template asks for a value")


def test_without_the_flow_no_value_is_named() -> None:
    diagnostic = Diagnostic(
        "warning", "template_missing_value", "tasks.r[0].text", "missing value 'x'"
    )
    assert warnings_of([diagnostic])[0].message == UNNAMED_MISSING_VALUE


def test_a_name_below_a_rendered_value_is_looked_for_in_its_template() -> None:
    # `_as_data` names the parts of a rendered mapping below the template that made it.
    where = "tasks.r[0].text.a.b[2]"
    flow = flow_with("{{ data.slot }}")
    missing = Diagnostic("warning", "template_missing_value", where, "missing value 'slot'")
    assert warnings_of([missing], flow)[0].message == "missing value 'slot'"


def test_an_unknown_tasks_run_id_is_left_out() -> None:
    detail = f"flow 'f' has no task 'gone'; run 'once:gone:{PHONE}' sent nothing"
    [warning] = warnings_of([Diagnostic("error", "unknown_task", "tasks.gone", detail)])
    assert "912" not in warning.message
    assert warning.where == "tasks.gone"
