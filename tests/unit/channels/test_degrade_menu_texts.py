"""The words degradation adds to menus ("Options", "Reply with a number.") follow the flow's
`settings.menu_texts`, else the contact's or the tenant's language: on their own
(`menu_texts`, `degrade`) and through the runtime, which picks them for each turn; a flow's own
list without `button_label` gets the same label."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.adapters.channels.whatsapp.payloads import MAX_LIST_BUTTON, WHATSAPP_CAPABILITIES
from botfleet.domain.degrade import (
    BUILT_IN_MENU_TEXTS,
    ENGLISH,
    LIST_LABEL,
    NUMBER_HINT,
    MenuTexts,
    degrade,
    menu_texts,
)
from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Buttons, ListMenu, Option, Section, Text
from botfleet.ports.channels import Capabilities
from botfleet.testing.runtime import (
    MONDAY_MORNING,
    RecordingSender,
    bootstrap_test_runtime,
    make_tenant_config,
    text_message,
)

SPANISH = BUILT_IN_MENU_TEXTS["es"]
FOUR_BUTTONS = Buttons("¿Qué necesitas?", tuple(Option(f"b{i}", f"Opción {i}") for i in range(4)))
ELEVEN_ROWS = ListMenu(
    "¿Qué tratamiento?",
    "Tratamientos",
    (Section("", tuple(Option(f"r{i}", f"Fila {i}") for i in range(11))),),
)


# ---------------------------------------------------------------- choosing the words


def test_english_is_the_default() -> None:
    assert ENGLISH == MenuTexts(LIST_LABEL, NUMBER_HINT) == MenuTexts("Options", NUMBER_HINT)
    assert NUMBER_HINT == "Reply with a number."
    assert menu_texts("") is ENGLISH


@pytest.mark.parametrize("language", ["en", "es", "pt", "fr", "de", "it", "ca"])
def test_each_built_in_language_has_both_words_fitting_whatsapp(language: str) -> None:
    texts = menu_texts(language)
    assert texts is BUILT_IN_MENU_TEXTS[language]
    assert texts.list_button.strip() and texts.number_hint.strip()
    assert len(texts.list_button) <= MAX_LIST_BUTTON  # Graph's list button label
    assert texts.list_button.strip() == texts.list_button


@pytest.mark.parametrize(
    ("language", "fallback", "expected"),
    [
        ("es", "", "es"),
        ("ES", "", "es"),
        ("pt-BR", "es", "pt"),  # the contact's language first
        ("ca_ES", "en", "ca"),
        ("", "es", "es"),  # the contact's unknown: the tenant's
        ("zh-hans", "it", "it"),  # the contact's not built in: the tenant's
        ("xx", "yy", "en"),  # neither: English
        ("", "", "en"),
    ],
)
def test_the_contacts_language_then_the_tenants_then_english(
    language: str, fallback: str, expected: str
) -> None:
    assert menu_texts(language, fallback) is BUILT_IN_MENU_TEXTS[expected]


def test_the_flows_words_win_and_a_word_left_out_is_the_languages() -> None:
    assert menu_texts("en", "en", "Ver", "Escribe el número.") == MenuTexts(
        "Ver", "Escribe el número."
    )
    assert menu_texts("", "es", "Ver", None) == MenuTexts("Ver", SPANISH.number_hint)
    assert menu_texts("de", "es", None, "") == MenuTexts("Optionen", "")  # no hint line
    assert menu_texts("", "es", "  ", None) == SPANISH  # a blank label would show nothing


def test_the_words_are_worked_out_once_per_arguments() -> None:
    assert menu_texts("pt-BR", "es", "Ver", None) is menu_texts("pt-BR", "es", "Ver", None)


# ---------------------------------------------------------------- degrading with them

NO_INTERACTIVE = Capabilities(buttons=False, lists=False)


def test_buttons_sent_as_a_list_open_with_the_words_list_button() -> None:
    (as_list,) = degrade([FOUR_BUTTONS], WHATSAPP_CAPABILITIES, SPANISH)
    assert isinstance(as_list, ListMenu)
    assert as_list.button_label == "Opciones"


def test_numbered_text_ends_with_the_words_number_hint() -> None:
    (numbered,) = degrade([ELEVEN_ROWS], WHATSAPP_CAPABILITIES, SPANISH)
    assert isinstance(numbered, Text)
    assert numbered.text.endswith("11. Fila 10\n\nBasta con responder con un número.")
    (from_buttons,) = degrade([FOUR_BUTTONS], NO_INTERACTIVE, menu_texts("fr"))
    assert isinstance(from_buttons, Text)
    assert from_buttons.text.endswith("4. Opción 3\n\nIl suffit de répondre par un numéro.")


def test_an_empty_number_hint_adds_no_line() -> None:
    (numbered,) = degrade([ELEVEN_ROWS], WHATSAPP_CAPABILITIES, MenuTexts("Ver", ""))
    assert isinstance(numbered, Text)
    assert numbered.text.endswith("11. Fila 10")


def test_a_long_list_button_of_the_flow_is_cut_to_the_channels_limit() -> None:
    long = MenuTexts("Elige una de las opciones", NUMBER_HINT)
    (as_list,) = degrade([FOUR_BUTTONS], WHATSAPP_CAPABILITIES, long)
    assert isinstance(as_list, ListMenu)
    assert as_list.button_label == "Elige una de las op…"


def test_the_senders_second_degradation_keeps_the_words_of_the_first() -> None:
    """WhatsApp's and Telegram's senders degrade again (in English): a no-op on what fits."""
    once = degrade([FOUR_BUTTONS, ELEVEN_ROWS], WHATSAPP_CAPABILITIES, SPANISH)
    assert degrade(once, WHATSAPP_CAPABILITIES) == once


# ---------------------------------------------------------------- through the runtime


def flow(settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """MENU shows four buttons (a list on WhatsApp); `long` shows eleven rows (numbered text);
    `own` shows a list of the flow's own without `button_label`; the task `survey` shows the
    four buttons again."""
    buttons = {
        "action": "send_interactive_buttons",
        "body": "¿Qué necesitas?",
        "buttons": [{"id": f"b{i}", "title": f"Opción {i}"} for i in range(4)],
    }
    rows = [{"id": f"r{i}", "title": f"Fila {i}"} for i in range(11)]
    return {
        "id": "menu_words_v1",
        "initial_state": "MENU",
        "settings": settings or {},
        "tasks": {"survey": [buttons]},
        "states": {
            "MENU": {
                "on_enter": [buttons],
                "transitions": [
                    {"on_payload": "long", "target": "LONG"},
                    {"on_payload": "own", "target": "OWN"},
                ],
                "fallback": "MENU",
            },
            "LONG": {
                "on_enter": [
                    {
                        "action": "send_interactive_list",
                        "body": "¿Qué tratamiento?",
                        "button_label": "Tratamientos",
                        "sections": [{"rows": rows}],
                    }
                ],
                "fallback": "LONG",
            },
            "OWN": {
                "on_enter": [
                    {
                        "action": "send_interactive_list",
                        "body": "¿Qué tratamiento?",
                        "sections": [{"rows": rows[:2]}],
                    }
                ],
                "fallback": "OWN",
            },
        },
    }


def said(text: str, language: str = "") -> InboundMessage:
    message = text_message("ana", text)
    return InboundMessage(
        message_id=message.message_id,
        contact_id=message.contact_id,
        type=message.type,
        timestamp=MONDAY_MORNING,
        text=text,
        language=language,
    )


async def words_sent(
    *, tenant_language: str, contact_language: str = "", settings: dict[str, Any] | None = None
) -> tuple[str, str, str]:
    """The list button of MENU, the last line of LONG's numbered text, and the list button of
    the task's menu, as the runtime sent them over WhatsApp's limits."""
    config = make_tenant_config(flow(settings), language=tenant_language)
    sender = RecordingSender(capabilities=WHATSAPP_CAPABILITIES)
    async with bootstrap_test_runtime(config, sender=sender) as runtime:
        (menu,) = (await runtime.handle(said("hola", contact_language))).outputs
        (numbered,) = (await runtime.handle(said("long", contact_language))).outputs
        await runtime.run_task("ana", "survey", {}, "job-1")
    task_menu = sender.to("ana")[-1]
    assert isinstance(menu, ListMenu) and isinstance(numbered, Text)
    assert isinstance(task_menu, ListMenu)
    assert sender.to("ana")[:2] == [menu, numbered]  # what was sent is what was returned
    return menu.button_label, numbered.text.splitlines()[-1], task_menu.button_label


async def test_the_tenants_language_picks_the_built_in_words() -> None:
    assert await words_sent(tenant_language="es") == (
        "Opciones",
        "Basta con responder con un número.",
        "Opciones",
    )


async def test_a_tenant_in_a_language_without_built_in_words_gets_english() -> None:
    assert await words_sent(tenant_language="nl") == ("Options", NUMBER_HINT, "Options")


async def test_the_contacts_language_when_the_channel_tells_it_then_the_tenants_for_tasks() -> None:
    # A task's turn has no message, so no contact language: the tenant's words.
    assert await words_sent(tenant_language="es", contact_language="pt-BR") == (
        "Opções",
        "Basta responder com um número.",
        "Opciones",
    )


async def test_the_flows_menu_texts_win_over_any_language() -> None:
    settings = {"menu_texts": {"list_button": "Ver opciones", "number_hint": "Escribe el número."}}
    assert await words_sent(tenant_language="en", contact_language="de", settings=settings) == (
        "Ver opciones",
        "Escribe el número.",
        "Ver opciones",
    )


async def test_a_flow_may_set_one_word_and_keep_the_other_built_in() -> None:
    settings = {"menu_texts": {"number_hint": "Escribe el número de la opción."}}
    assert await words_sent(tenant_language="es", settings=settings) == (
        "Opciones",
        "Escribe el número de la opción.",
        "Opciones",
    )


@pytest.mark.parametrize(
    ("tenant_language", "contact_language", "settings", "word"),
    [
        ("es", "", None, "Opciones"),
        ("es", "pt-BR", None, "Opções"),
        ("nl", "", None, LIST_LABEL),
        ("en", "de", {"menu_texts": {"list_button": "Ver opciones"}}, "Ver opciones"),
    ],
)
async def test_a_flows_list_without_a_label_reads_as_the_lists_degradation_makes(
    tenant_language: str, contact_language: str, settings: dict[str, Any] | None, word: str
) -> None:
    """The engine picks the default label, the runtime the degradation words: one choice."""
    config = make_tenant_config(flow(settings), language=tenant_language)
    sender = RecordingSender(capabilities=WHATSAPP_CAPABILITIES)
    async with bootstrap_test_runtime(config, sender=sender) as runtime:
        (from_buttons,) = (await runtime.handle(said("hola", contact_language))).outputs
        (own,) = (await runtime.handle(said("own", contact_language))).outputs
    assert isinstance(from_buttons, ListMenu) and isinstance(own, ListMenu)
    assert own.button_label == from_buttons.button_label == word
