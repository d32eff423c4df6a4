"""Every action except invoke_connector (see test_engine_connectors.py), through `step`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botfleet.domain.outputs import Buttons, ListMenu, Option, Section, TemplateMessage, Text
from botfleet.flows import effects
from botfleet.flows.load import load_flow_text
from botfleet.testing.clock import FrozenClock
from botfleet.testing.engine import (
    T0,
    Conversation,
    Exchange,
    answer_with,
    button,
    flow_from_file,
    flow_from_yaml,
)

FLOW = flow_from_file(Path(__file__).parents[2] / "fixtures/flows/engine/actions.yaml")
MADRID = ZoneInfo("Europe/Madrid")


def run(state: str, **data: Any) -> Exchange:
    chat = Conversation(FLOW).with_data(who="Ana", count=30, **data)
    return chat.press(f"run_{state.lower()}")


def test_send_text_renders_templates_and_skips_blank_texts() -> None:
    exchange = run("TEXT")
    assert exchange.outputs == (
        Text("Hello  from Test Salon"),  # no contact name from this channel
        Text("plain, {not a template}"),
    )
    assert exchange.state.node == "START"


def test_send_text_sees_the_contacts_profile_name() -> None:
    chat = Conversation(FLOW)
    exchange = chat.send(button("run_text", contact_name="Ana"))
    assert exchange.outputs[0] == Text("Hello Ana from Test Salon")
    assert chat.state.data["contact_name"] == "Ana"


def test_buttons_render_body_and_titles_and_become_the_last_options() -> None:
    exchange = run("BUTTONS")
    expected = (Option("b_yes", "Yes Ana"), Option("b_no", "No"))
    assert exchange.outputs == (Buttons("Pick for Ana", expected),)
    assert exchange.state.last_options == expected


def test_a_list_keeps_sections_and_offers_every_row() -> None:
    exchange = run("LIST")
    assert exchange.outputs == (
        ListMenu(
            "Services for Ana",
            "See 30",
            (
                Section("Hair", (Option("s_cut", "Cut", "30 min"), Option("s_dye", "Dye"))),
                Section("Beard", (Option("s_beard", "Beard"),)),
            ),
        ),
    )
    assert [o.id for o in exchange.state.last_options] == ["s_cut", "s_dye", "s_beard"]


OPTION_IDS_FLOW = """
id: option_ids
initial_state: START
states:
  START:
    transitions:
      - {on_payload: buttons, target: BUTTONS}
      - {on_payload: list, target: LIST}
      - {on_payload_prefix: "hour_", extract_suffix_as: hour, target: PICKED}
    fallback: START
  BUTTONS:
    on_enter:
      - action: send_interactive_buttons
        body: Pick
        buttons:
          - {id: "hour_{{ data.slot }}", title: "{{ data.slot }}"}
          - {id: "{{ data.empty }}", title: Never}
          - {id: "hour_{{ data.same }}", title: Twin}
          - {id: other, title: Other}
    next: START
  LIST:
    on_enter:
      - action: send_interactive_list
        body: Pick
        button_label: Hours
        sections:
          - title: Morning
            rows: [{id: "hour_{{ data.slot }}", title: "{{ data.slot }}"}]
          - title: Again
            rows: [{id: "hour_{{ data.same }}", title: Twin}, {id: late, title: Late}]
    next: START
  PICKED:
    on_enter: [{action: send_text, text: "Booked {{ data.hour }}"}]
    next: START
"""


def option_ids_chat() -> Conversation:
    flow = flow_from_yaml(OPTION_IDS_FLOW)
    return Conversation(flow).with_data(slot="1000", same="1000", empty="")


def test_button_ids_are_templates_and_a_press_matches_the_rendered_id() -> None:
    chat = option_ids_chat()
    exchange = chat.press("buttons")
    assert exchange.outputs == (
        Buttons("Pick", (Option("hour_1000", "1000"), Option("other", "Other"))),
    )
    assert chat.press("hour_1000").outputs == (Text("Booked 1000"),)


def test_an_option_id_that_renders_empty_or_repeats_is_left_out_with_a_warning() -> None:
    exchange = option_ids_chat().press("buttons")
    assert [(d.level, d.event, d.where) for d in exchange.diagnostics] == [
        ("warning", "bad_option_id", "states.BUTTONS.on_enter[0].buttons[1].id"),
        ("warning", "bad_option_id", "states.BUTTONS.on_enter[0].buttons[2].id"),
    ]
    assert "rendered empty" in exchange.diagnostics[0].detail
    assert "'hour_1000' repeats" in exchange.diagnostics[1].detail


def test_list_row_ids_are_templates_unique_across_sections() -> None:
    exchange = option_ids_chat().press("list")
    assert exchange.outputs == (
        ListMenu(
            "Pick",
            "Hours",
            (
                Section("Morning", (Option("hour_1000", "1000"),)),
                Section("Again", (Option("late", "Late"),)),
            ),
        ),
    )
    assert exchange.diagnostic_events() == ["bad_option_id"]


# ---------------------------------------------------------------- dynamic options

THREE = [{"id": "d1", "title": "One"}, {"id": "d2", "title": "Two"}, {"id": "d3", "title": "Three"}]


def test_up_to_three_dynamic_options_become_buttons() -> None:
    [output] = run("DYNAMIC", choices=THREE).outputs
    assert output == Buttons(
        "Choose, Ana", (Option("d1", "One"), Option("d2", "Two"), Option("d3", "Three"))
    )


def test_more_than_three_dynamic_options_become_a_list() -> None:
    choices = [*THREE, {"id": "d4", "title": "Four"}]
    [output] = run("DYNAMIC", choices=choices).outputs
    assert isinstance(output, ListMenu)
    assert output.body == "Choose, Ana"
    assert output.button_label == "Choices"
    assert [o.id for o in output.options] == ["d1", "d2", "d3", "d4"]


def test_dynamic_options_with_descriptions_become_a_list() -> None:
    [output] = run("DYNAMIC", choices=[{"id": "x", "title": "X", "description": "why"}]).outputs
    assert isinstance(output, ListMenu)
    assert output.options == (Option("x", "X", "why"),)


@pytest.mark.parametrize("choices", [[], None, "missing"])
def test_an_empty_or_missing_source_sends_the_empty_text(choices: Any) -> None:
    data = {} if choices == "missing" else {"choices": choices}
    exchange = run("DYNAMIC", **data)
    assert exchange.outputs == (Text("Nothing to choose from"),)
    assert exchange.diagnostics == ()


def test_a_source_that_is_not_a_list_sends_the_empty_text_with_a_diagnostic() -> None:
    exchange = run("DYNAMIC", choices={"id": "d1", "title": "One"})
    assert exchange.outputs == (Text("Nothing to choose from"),)
    assert exchange.diagnostic_events() == ["bad_option_source"]
    assert exchange.diagnostics[0].where == "states.DYNAMIC.on_enter[0].source_key"


def test_malformed_items_are_skipped_with_a_diagnostic_each() -> None:
    choices = [
        {"title": "no id"},
        {"id": "", "title": "empty id"},
        None,
        True,
        ["nested"],
        {"id": "ok", "title": "Fine"},
        {"id": 7},
        "plain",
        3,
    ]
    exchange = run("DYNAMIC", choices=choices)
    [output] = exchange.outputs
    assert isinstance(output, ListMenu)  # four valid items
    assert output.options == (
        Option("ok", "Fine"),
        Option("7", "7"),
        Option("plain", "plain"),
        Option("3", "3"),
    )
    assert exchange.diagnostic_events() == ["bad_option_item"] * 5
    assert "item 0 of data.choices" in exchange.diagnostics[0].detail


def test_an_item_repeating_an_earlier_id_is_skipped_with_a_diagnostic() -> None:
    # Two slots with one id: WhatsApp refuses the message, and a reply could not tell them apart.
    choices = [{"id": "s1", "title": "10:00"}, {"id": "s1", "title": "10:30"}, {"id": 2}, 2]
    exchange = run("DYNAMIC", choices=choices)
    [output] = exchange.outputs
    assert isinstance(output, Buttons)
    assert output.buttons == (Option("s1", "10:00"), Option("2", "2"))
    assert exchange.diagnostic_events() == ["bad_option_id", "bad_option_id"]
    assert "item 1 of data.choices: id 's1' repeats" in exchange.diagnostics[0].detail
    assert "item 3 of data.choices: id '2' repeats" in exchange.diagnostics[1].detail


def test_dynamic_options_become_the_last_options() -> None:
    exchange = run("DYNAMIC", choices=THREE)
    assert [o.id for o in exchange.state.last_options] == ["d1", "d2", "d3"]


NESTED_SOURCE = """
id: nested_v1
initial_state: MENU
states:
  MENU:
    transitions:
      - {on_payload: book, target: SLOTS}
    fallback: MENU
  SLOTS:
    on_enter:
      - action: invoke_connector
        connector: calendar
        operation: get_slots_for_day
        result_key: booking
      - action: send_dynamic_options
        source_key: booking.slots
        text: "Pick a time"
        empty_text: "No times left"
    fallback: SLOTS
"""


def test_a_dotted_source_key_reads_the_nested_value_the_validator_accepts() -> None:
    flow = load_flow_text(dedent(NESTED_SOURCE), "nested.yaml")
    assert flow.warnings == ()  # `booking` is set by the connector: nothing to warn about
    slots = [{"id": "h10", "title": "10:00"}, {"id": "h11", "title": "11:00"}]
    chat = Conversation(flow.spec, answer=answer_with({"get_slots_for_day": {"slots": slots}}))
    exchange = chat.press("book")
    assert exchange.outputs == (
        Buttons("Pick a time", (Option("h10", "10:00"), Option("h11", "11:00"))),
    )


@pytest.mark.parametrize("booking", [{"slots": []}, {"other": 1}, [1], "text"])
def test_a_dotted_source_key_that_leads_nowhere_sends_the_empty_text(booking: Any) -> None:
    flow = load_flow_text(dedent(NESTED_SOURCE), "nested.yaml").spec
    chat = Conversation(flow, answer=answer_with({"get_slots_for_day": booking}))
    assert chat.press("book").outputs == (Text("No times left"),)


def test_a_flat_key_with_dots_is_still_read_as_it_is() -> None:
    flow = load_flow_text(
        dedent(NESTED_SOURCE.replace("result_key: booking", "result_key: booking.slots")),
        "flat.yaml",
    ).spec
    chat = Conversation(flow, answer=answer_with({"get_slots_for_day": ["h10"]}))
    assert chat.press("book").outputs == (Buttons("Pick a time", (Option("h10", "h10"),)),)


# ---------------------------------------------------------------- templates (WhatsApp)


def test_send_template_renders_params_as_strings_and_the_fallback_text() -> None:
    [output] = run("TEMPLATE").outputs
    assert output == TemplateMessage(
        "appointment_reminder", "es", ("Ana", "30", "7"), "Reminder for Ana"
    )


def test_send_template_renders_its_name_and_language() -> None:
    flow = flow_from_yaml(
        """
        id: template_names
        initial_state: START
        states:
          START:
            on_enter:
              - action: send_template
                name: "reminder_{{ data.kind }}"
                language: "{{ contact.language or 'en' }}"
            fallback: START
        """
    )
    chat = Conversation(flow).with_data(kind="day_before")
    chat.send("hi")
    exchange = chat.send(button("x", language="es"))
    assert exchange.outputs == (TemplateMessage("reminder_day_before", "es"),)


def test_a_null_template_parameter_is_empty_not_none() -> None:
    flow = flow_from_yaml(
        """
        id: template_null
        initial_state: START
        states:
          START:
            on_enter:
              - action: send_template
                name: reminder
                params: ["{{ data.notes }}", "{{ data.n }}"]
            fallback: START
        """
    )
    chat = Conversation(flow).with_data(notes=None, n=3)
    assert chat.send("hi").outputs == (TemplateMessage("reminder", "en", ("", "3")),)


# ---------------------------------------------------------------- schedule_task / cancel_task


def schedules(exchange: Exchange) -> list[effects.ScheduleTask]:
    return [e for e in exchange.effects if isinstance(e, effects.ScheduleTask)]


@pytest.mark.parametrize(
    ("run_at", "expected"),
    [
        ("2024-01-09T10:30:00+00:00", datetime(2024, 1, 9, 10, 30, tzinfo=UTC)),
        ("2024-01-09T10:30", datetime(2024, 1, 9, 10, 30, tzinfo=MADRID)),  # naive: tenant zone
        ("2024-07-09T10:30", datetime(2024, 7, 9, 10, 30, tzinfo=MADRID)),  # summer time too
        ("2024-01-09", datetime(2024, 1, 9, 0, 0, tzinfo=MADRID)),
        (datetime(2024, 1, 9, 8, 0, tzinfo=UTC), datetime(2024, 1, 9, 8, 0, tzinfo=UTC)),
    ],
)
def test_run_at_is_an_iso_datetime_and_naive_times_are_the_tenants(
    run_at: Any, expected: datetime
) -> None:
    first, _ = schedules(run("SCHEDULE", run_at=run_at, delay="1h"))
    assert first.run_at == expected
    assert first.run_at.utcoffset() == expected.utcoffset()
    assert first.task == "reminder"
    assert first.contact_id == "contact-1"


def test_scheduled_data_is_rendered_keeping_types_and_the_key_defaults() -> None:
    first, second = schedules(run("SCHEDULE", run_at="2024-01-09T10:30", delay="1h"))
    assert first.data == {"who": "Ana", "count": 30, "fixed": 1}
    assert first.idempotency_key == "reminder:contact-1"
    assert second.idempotency_key == "later:Ana"
    assert second.data == {}


@pytest.mark.parametrize(
    ("delay", "expected"),
    [("24h", timedelta(hours=24)), ("1h30m", timedelta(minutes=90)), ("2d", timedelta(days=2))],
)
def test_delay_counts_from_now(delay: str, expected: timedelta) -> None:
    _, second = schedules(run("SCHEDULE", run_at="2024-01-09T10:30", delay=delay))
    assert second.run_at == T0 + expected


def test_a_delay_is_real_time_across_a_change_of_the_clocks() -> None:
    # The day before Madrid goes to summer time, on a clock in the tenant's zone (as in
    # `botfleet chat`): 24h later is 11:00, not 10:00 (that is only 23 hours).
    before = datetime(2024, 3, 30, 10, 0, tzinfo=MADRID)
    chat = Conversation(FLOW, clock=FrozenClock(before)).with_data(
        who="Ana", count=30, run_at="2024-04-01T10:00", delay="24h"
    )
    _, second = schedules(chat.press("run_schedule"))
    assert second.run_at == datetime(2024, 3, 31, 11, 0, tzinfo=MADRID)
    assert second.run_at.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=24)


@pytest.mark.parametrize("run_at", ["tomorrow", "", "2024-13-45T99:00", None, 12])
def test_a_bad_run_at_gives_a_diagnostic_and_no_effect(run_at: Any) -> None:
    exchange = run("SCHEDULE", run_at=run_at, delay="1h")
    assert [s.idempotency_key for s in schedules(exchange)] == ["later:Ana"]
    [diagnostic] = exchange.diagnostics
    assert diagnostic.event == "schedule_task_invalid"
    assert diagnostic.where == "states.SCHEDULE.on_enter[0]"
    assert exchange.state.node == "START"


@pytest.mark.parametrize("delay", ["soon", "", "-1h", "999999999d"])
def test_a_bad_delay_gives_a_diagnostic_and_no_effect(delay: str) -> None:
    exchange = run("SCHEDULE", run_at="2024-01-09T10:30", delay=delay)
    assert [s.idempotency_key for s in schedules(exchange)] == ["reminder:contact-1"]
    assert exchange.diagnostic_events() == ["schedule_task_invalid"]
    assert exchange.diagnostics[0].where == "states.SCHEDULE.on_enter[1]"


def test_a_contact_id_is_never_rendered_as_a_template_in_the_default_key() -> None:
    chat = Conversation(FLOW, contact_id="{{ 7 * 6 }}").with_data(run_at="2024-01-09", delay="1h")
    first, _ = schedules(chat.press("run_schedule"))
    assert first.idempotency_key == "reminder:{{ 7 * 6 }}"
    assert first.contact_id == "{{ 7 * 6 }}"


def test_cancel_task_renders_its_key_for_this_contact() -> None:
    exchange = run("CANCEL")
    assert exchange.effects == (effects.CancelTask("later:Ana", "contact-1"),)
    assert exchange.outputs == ()
