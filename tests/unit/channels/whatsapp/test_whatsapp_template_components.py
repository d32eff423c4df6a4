"""Template components beyond the body: the text header's variable, quick-reply payloads and a
URL button's suffix, in the shapes of Meta's "Send template messages" (components header, body,
button with `sub_type`, a string `index` and its `parameters`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from botfleet.adapters.channels.whatsapp.payloads import (
    MAX_TEMPLATE_HEADER_PARAM,
    template_payload,
)
from botfleet.domain.outputs import QUICK_REPLY, URL_BUTTON, TemplateButton, TemplateMessage

TO = "16505551234"
Send = Callable[..., Awaitable[list[dict[str, Any]]]]

REMINDER = TemplateMessage(
    "appointment_reminder",
    "es",
    ("mañana", "10:30"),
    "Recordatorio",
    header_param="Limpieza dental",
    buttons=(
        TemplateButton(0, QUICK_REPLY, "confirm_yes", "Confirmar"),
        TemplateButton(1, QUICK_REPLY, "cancel_appt_e1", "Cancelar"),
        TemplateButton(2, URL_BUTTON, "e1?lang=es"),
    ),
)


async def test_a_reminder_sends_header_body_and_each_button_as_meta_documents(send: Send) -> None:
    (body,) = await send(REMINDER)
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "template",
        "template": {
            "name": "appointment_reminder",
            "language": {"code": "es"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "Limpieza dental"}]},
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "mañana"},
                        {"type": "text", "text": "10:30"},
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": "0",
                    "parameters": [{"type": "payload", "payload": "confirm_yes"}],
                },
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": "1",
                    "parameters": [{"type": "payload", "payload": "cancel_appt_e1"}],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "2",
                    "parameters": [{"type": "text", "text": "e1?lang=es"}],
                },
            ],
        },
    }


def test_the_titles_for_other_channels_are_not_sent_to_whatsapp() -> None:
    # The template's own labels are what WhatsApp shows: Graph takes no title at send time.
    sent = str(template_payload(TO, REMINDER))
    assert "Confirmar" not in sent
    assert "Cancelar" not in sent


def test_buttons_go_in_index_order_whatever_order_they_come_in() -> None:
    url_first = TemplateMessage(
        "manage",
        "en",
        buttons=(TemplateButton(2, QUICK_REPLY, "no"), TemplateButton(0, URL_BUTTON, "b/7")),
    )
    components = template_payload(TO, url_first)["template"]["components"]
    assert [(c["sub_type"], c["index"]) for c in components] == [("url", "0"), ("quick_reply", "2")]


def test_a_template_with_only_quick_replies_has_no_body_component() -> None:
    survey = TemplateMessage("survey", "en", buttons=(TemplateButton(0, QUICK_REPLY, "good"),))
    components = template_payload(TO, survey)["template"]["components"]
    assert [c["type"] for c in components] == ["button"]


def test_a_payload_goes_exactly_as_rendered_for_the_press_to_match() -> None:
    # Body parameters lose line breaks and long runs of spaces; a payload comes back in the
    # press and is compared exactly, so it is never touched.
    odd = "a  b     c\td"
    message = TemplateMessage("t", "en", buttons=(TemplateButton(0, QUICK_REPLY, odd),))
    (button,) = template_payload(TO, message)["template"]["components"]
    assert button["parameters"] == [{"type": "payload", "payload": odd}]


def test_header_and_url_parameters_are_cleaned_like_body_ones_and_never_empty() -> None:
    message = TemplateMessage(
        "t",
        "en",
        header_param="Calle Mayor 1\n2º B",
        buttons=(TemplateButton(0, URL_BUTTON, "  "),),
    )
    header, url = template_payload(TO, message)["template"]["components"]
    assert header["parameters"] == [{"type": "text", "text": "Calle Mayor 1 2º B"}]
    # Graph refuses an empty parameter, and with it the whole reminder.
    assert url["parameters"] == [{"type": "text", "text": "-"}]


def test_a_header_value_over_sixty_characters_is_cut() -> None:
    message = TemplateMessage("t", "en", header_param="x" * 70)
    (header,) = template_payload(TO, message)["template"]["components"]
    text = header["parameters"][0]["text"]
    assert len(text) == MAX_TEMPLATE_HEADER_PARAM
    assert text == "x" * (MAX_TEMPLATE_HEADER_PARAM - 1) + "…"


def test_an_empty_header_value_is_sent_as_a_dash_but_none_sends_no_header() -> None:
    with_header = TemplateMessage("t", "en", header_param="")
    components = template_payload(TO, with_header)["template"]["components"]
    assert components == [{"type": "header", "parameters": [{"type": "text", "text": "-"}]}]
    assert "components" not in template_payload(TO, TemplateMessage("t", "en"))["template"]
