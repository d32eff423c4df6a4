"""A template's quick replies on channels without templates (web chat, Telegram): its fallback
text comes with them as buttons that send the same payloads, so one flow routes the presses on
every channel."""

from __future__ import annotations

from botfleet.adapters.channels.option_ids import sendable_ids
from botfleet.adapters.channels.telegram.payloads import (
    TELEGRAM_CAPABILITIES,
    fits_callback_data,
    message_payloads,
)
from botfleet.adapters.channels.webchat.capabilities import WEBCHAT_CAPABILITIES
from botfleet.domain.degrade import MenuTexts, degrade
from botfleet.domain.outputs import (
    QUICK_REPLY,
    URL_BUTTON,
    Buttons,
    Option,
    TemplateButton,
    TemplateMessage,
    Text,
    options_of,
)
from botfleet.ports.channels import Capabilities

CONFIRM = TemplateButton(0, QUICK_REPLY, "confirm_yes", "Confirm")
CANCEL = TemplateButton(1, QUICK_REPLY, "cancel_yes", "Cancel")
LINK = TemplateButton(2, URL_BUTTON, "e1")
REMINDER = TemplateMessage(
    "reminder", "en", ("10:30",), "Tomorrow at 10:30", buttons=(CONFIRM, CANCEL, LINK)
)


def test_the_fallback_text_offers_the_quick_replies_as_buttons() -> None:
    expected = Buttons(
        "Tomorrow at 10:30", (Option("confirm_yes", "Confirm"), Option("cancel_yes", "Cancel"))
    )
    assert degrade([REMINDER], WEBCHAT_CAPABILITIES) == (expected,)
    assert degrade([REMINDER], TELEGRAM_CAPABILITIES) == (expected,)


def test_whatsapp_keeps_the_template_whole() -> None:
    assert degrade([REMINDER], Capabilities(templates=True)) == (REMINDER,)


def test_without_titles_the_buttons_show_their_payloads() -> None:
    bare = TemplateMessage("r", "en", (), "Coming?", buttons=(TemplateButton(0, QUICK_REPLY, "y"),))
    assert degrade([bare], WEBCHAT_CAPABILITIES) == (Buttons("Coming?", (Option("y", "y"),)),)


def test_a_template_with_only_a_url_button_stays_plain_text() -> None:
    link_only = TemplateMessage("r", "en", (), "Manage your booking", buttons=(LINK,))
    assert degrade([link_only], WEBCHAT_CAPABILITIES) == (Text("Manage your booking"),)


def test_without_buttons_the_quick_replies_are_numbered_as_the_engine_counts() -> None:
    plain = Capabilities(buttons=False, lists=False)
    (text,) = degrade([REMINDER], plain, MenuTexts(number_hint="Reply with a number."))
    assert text == Text("Tomorrow at 10:30\n\n1. Confirm\n2. Cancel\n\nReply with a number.")
    # a typed "1" is read against the engine's options of the template: the same order
    assert [o.id for o in options_of(REMINDER)] == ["confirm_yes", "cancel_yes"]


def test_telegram_sends_them_as_an_inline_keyboard_of_their_payloads() -> None:
    (shown,) = degrade([REMINDER], TELEGRAM_CAPABILITIES)
    (payload,) = message_payloads("42", shown)
    keyboard = payload["reply_markup"]["inline_keyboard"]
    assert keyboard == [
        [{"text": "Confirm", "callback_data": "confirm_yes"}],
        [{"text": "Cancel", "callback_data": "cancel_yes"}],
    ]
    # a payload over Telegram's 64 bytes goes by position, fingerprinted by the same options
    # the engine keeps for the template (`options_of`)
    long = TemplateMessage(
        "r", "en", (), "x", buttons=(TemplateButton(0, QUICK_REPLY, "p" * 70, "Go"),)
    )
    (degraded,) = degrade([long], TELEGRAM_CAPABILITIES)
    assert sendable_ids(options_of(degraded), fits_callback_data) == sendable_ids(
        options_of(long), fits_callback_data
    )
