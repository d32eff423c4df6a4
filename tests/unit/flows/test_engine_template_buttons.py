"""`send_template`'s header variable, quick-reply payloads (with their titles for channels
without templates) and URL suffix, through `step`: a reminder task's "Confirm" routes by its
payload, pressed or typed."""

from __future__ import annotations

from botfleet.domain.outputs import QUICK_REPLY, URL_BUTTON, TemplateButton, TemplateMessage
from botfleet.testing.engine import CONTACT, Conversation, button, flow_from_yaml

REMINDER_FLOW = """
id: reminders
initial_state: BOOKED
global_transitions:
  - on_payload_prefix: "confirm_"
    extract_suffix_as: confirmed
    target: CONFIRMED
  - on_payload_prefix: "cancel_"
    target: CANCELLED
states:
  BOOKED:
    transitions: [{on_type: text, target: BOOKED}]
    fallback: BOOKED
  CONFIRMED:
    on_enter: [{action: send_text, text: "See you, {{ data.confirmed }} ({{ message.text }})"}]
    fallback: BOOKED
  CANCELLED:
    on_enter: [{action: send_text, text: "Cancelled"}]
    fallback: BOOKED
tasks:
  remind:
    - action: send_template
      name: appointment_reminder
      language: "{{ data.lang | default('es') }}"
      header_param: "{{ data.service }}"
      params: ["{{ data.time }}"]
      button_payloads: ["confirm_{{ data.event }}", "cancel_{{ data.event }}", null]
      button_titles: ["Confirmar", "{{ 'Cancel' if data.lang == 'en' else 'Cancelar' }}"]
      url_button: {suffix: "{{ data.event }}"}
      fallback_text: "Recordatorio: {{ data.service }} a las {{ data.time }}"
"""


def reminded(**data: object) -> tuple[Conversation, TemplateMessage]:
    chat = Conversation(flow_from_yaml(REMINDER_FLOW)).with_data(
        service="Limpieza", time="10:30", event="e1", **data
    )
    chat.send("hola")
    [template] = chat.fire_task("remind").outputs
    assert isinstance(template, TemplateMessage)
    return chat, template


def test_every_field_is_rendered_and_the_url_button_follows_the_quick_replies() -> None:
    _, template = reminded(lang="en")
    assert template == TemplateMessage(
        "appointment_reminder",
        "en",
        ("10:30",),
        "Recordatorio: Limpieza a las 10:30",
        header_param="Limpieza",
        buttons=(
            TemplateButton(0, QUICK_REPLY, "confirm_e1", "Confirmar"),
            TemplateButton(1, QUICK_REPLY, "cancel_e1", "Cancel"),
            # index 2 is a null payload: the URL button is after every listed position
            TemplateButton(3, URL_BUTTON, "e1"),
        ),
    )


def test_the_press_of_a_quick_reply_routes_by_its_payload() -> None:
    chat, _ = reminded()
    exchange = chat.send(button("confirm_e1", text="Confirmar"))
    assert exchange.state.node == "CONFIRMED"
    assert exchange.texts == ["See you, e1 (Confirmar)"]


def test_a_typed_number_or_title_picks_a_quick_reply_as_on_any_menu() -> None:
    chat, _ = reminded()
    assert chat.send("2").state.node == "CANCELLED"
    chat, _ = reminded()
    assert chat.send("confirmar").state.node == "CONFIRMED"


def test_a_template_without_quick_replies_ends_what_typing_answers_of_the_menu() -> None:
    """A reminder's template is the last thing the contact saw: a "2" typed after it is not
    the older menu's second option (the fallback asks again); a press of its button still is."""
    flow = flow_from_yaml(
        """
        id: plain
        initial_state: MENU
        states:
          MENU:
            on_enter:
              - action: send_interactive_buttons
                body: Pick
                buttons: [{id: a, title: A}, {id: b, title: B}]
            transitions: [{on_payload: b, target: B}]
            fallback: MENU
          B: {on_enter: [{action: send_text, text: b}], fallback: MENU}
        tasks:
          remind: [{action: send_template, name: reminder, params: ["x"]}]
        """
    )
    chat = Conversation(flow)
    chat.send("hi")
    chat.fire_task("remind")
    assert chat.send("2").state.node == "MENU"
    chat.fire_task("remind")
    assert chat.press("b").state.node == "B"


def test_a_payload_that_renders_empty_or_repeats_is_left_out_with_a_warning() -> None:
    flow = flow_from_yaml(
        """
        id: bad_payloads
        initial_state: START
        states:
          START:
            on_enter:
              - action: send_template
                name: survey
                button_payloads: ["{{ data.missing | default('') }}", "yes", "{{ 'yes' }}", "no"]
                button_titles: [A, B, C, D]
            fallback: START
        """
    )
    exchange = Conversation(flow).send("hi")
    [template] = exchange.outputs
    assert isinstance(template, TemplateMessage)
    assert template.buttons == (
        TemplateButton(1, QUICK_REPLY, "yes", "B"),
        TemplateButton(3, QUICK_REPLY, "no", "D"),
    )
    warnings = [d for d in exchange.diagnostics if d.event == "bad_option_id"]
    assert [d.where for d in warnings] == [
        "states.START.on_enter[0].button_payloads[0]",
        "states.START.on_enter[0].button_payloads[2]",
    ]
    assert "rendered empty" in warnings[0].detail
    assert "'yes' repeats" in warnings[1].detail


def test_a_given_url_button_index_is_kept() -> None:
    flow = flow_from_yaml(
        """
        id: url_first
        initial_state: START
        states:
          START:
            on_enter:
              - action: send_template
                name: manage
                button_payloads: [null, "keep"]
                url_button: {index: 0, suffix: "b/{{ contact.id }}"}
            fallback: START
        """
    )
    [template] = Conversation(flow).send("hi").outputs
    assert isinstance(template, TemplateMessage)
    assert template.buttons[-1] == TemplateButton(0, URL_BUTTON, f"b/{CONTACT}")
