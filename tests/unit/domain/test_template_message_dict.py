"""A template's header and buttons survive the outbox and journal (`output_to_dict` and back),
and its quick replies are the options a typed answer picks."""

from __future__ import annotations

from botfleet.domain.outputs import (
    QUICK_REPLY,
    URL_BUTTON,
    Option,
    TemplateButton,
    TemplateMessage,
    options_of,
    output_from_dict,
    output_to_dict,
)

REMINDER = TemplateMessage(
    "reminder",
    "es",
    ("mañana",),
    "Recordatorio",
    header_param="Limpieza",
    buttons=(
        TemplateButton(0, QUICK_REPLY, "confirm_yes", "Confirmar"),
        TemplateButton(1, QUICK_REPLY, "cancel"),
        TemplateButton(2, URL_BUTTON, "e1"),
    ),
)


def test_a_template_with_header_and_buttons_round_trips() -> None:
    assert output_from_dict(output_to_dict(REMINDER)) == REMINDER


def test_a_plain_template_keeps_the_form_stored_before_buttons_existed() -> None:
    stored = {"type": "template", "name": "r", "language": "es", "params": ["a"], "text": "t"}
    assert output_to_dict(TemplateMessage("r", "es", ("a",), "t")) == stored
    assert output_from_dict(stored) == TemplateMessage("r", "es", ("a",), "t")


def test_an_empty_header_value_is_kept_apart_from_no_header() -> None:
    empty = TemplateMessage("r", "es", header_param="")
    assert output_from_dict(output_to_dict(empty)).header_param == ""
    assert output_from_dict(output_to_dict(TemplateMessage("r", "es"))).header_param is None


def test_the_quick_replies_are_its_options_titled_by_their_title_else_their_payload() -> None:
    assert options_of(REMINDER) == (Option("confirm_yes", "Confirmar"), Option("cancel", "cancel"))
    assert options_of(TemplateMessage("r", "es", ("a",))) == ()
