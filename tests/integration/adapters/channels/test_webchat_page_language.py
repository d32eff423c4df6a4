"""The chat page and the widget speak the tenant's `language`: `<html lang>`, the labels in the
HTML, the words chat.js shows (a JSON data block in the page) and the widget's bubble. The
script itself is one file for every language."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

import botfleet.adapters.channels.webchat.page_words as page_words_module
from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.channels.webchat.assets import load_assets, page_headers
from botfleet.adapters.channels.webchat.page_words import (
    ENGLISH_WORDS,
    PAGE_WORDS,
    every_language,
    page_words,
)
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.domain.degrade import BUILT_IN_MENU_TEXTS
from botfleet.domain.messages import InboundMessage
from botfleet.ports.channels import TurnResult
from botfleet.testing.runtime import make_tenant_config, running_app
from botfleet.web import JsonApi

TITLE = 'Peluquería "Ana" & <Co>'
WORDS_BLOCK = re.compile(r'<script type="application/json" id="chat-words">(.*?)</script>', re.S)
ENGLISH_IN_HTML = ("Reset conversation", "Type a message", ">Send<", ">Message<", "is typing")


class NoTurns:
    async def handle(self, message: InboundMessage) -> TurnResult:
        return TurnResult(message.message_id, ())

    async def accept(self, message: InboundMessage) -> bool:
        return True


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 5, 4, tzinfo=UTC)


def served(language: str) -> TestClient:
    routes = build_routes(
        NoTurns(), InMemoryOutbox(), title=TITLE, clock=Clock(), language=language
    )
    return TestClient(JsonApi(routes, title="test"))


def script_words(page: str) -> dict[str, str]:
    found = WORDS_BLOCK.search(page)
    assert found is not None, "the page has no words block"
    words: dict[str, str] = json.loads(found[1])
    return words


def test_a_spanish_tenants_page_is_in_spanish() -> None:
    client = served("es")
    page = client.get("/").text
    assert '<html lang="es">' in page
    assert '<button type="button" id="reset" class="reset">Reiniciar conversación</button>' in page
    assert '<label for="text" class="visually-hidden">Mensaje</label>' in page
    assert 'placeholder="Escribir un mensaje…"' in page
    assert '<button type="submit">Enviar</button>' in page
    assert "Este chat necesita JavaScript." in page
    escaped = html.escape(TITLE, quote=True)
    assert f"hidden>{escaped} está escribiendo…</p>" in page
    for english in ENGLISH_IN_HTML:
        assert english not in page
    words = script_words(page)
    assert words["not_delivered"] == "No entregado: {reason}"
    assert words["send_again"] == "Enviar de nuevo"
    assert words["unreachable"].startswith("No se ha podido conectar con el chat")
    # "Send again" is no longer CSS content, which no language could change
    assert "Send again" not in page


@pytest.mark.parametrize("language", sorted(PAGE_WORDS))
def test_every_built_in_language_fills_the_whole_page(language: str) -> None:
    client = served(language)
    response = client.get("/")
    page = response.text
    words = page_words(language)
    assert f'<html lang="{language}">' in page
    assert "__BOTFLEET_" not in page
    assert f'placeholder="{html.escape(words.placeholder)}"' in page
    assert f'<button type="submit">{html.escape(words.send)}</button>' in page
    assert script_words(page) == words.script_words()
    # the page's policy allows its own style block, whatever the language
    policy = page_headers(page)["Content-Security-Policy"]
    assert response.headers["content-security-policy"] == policy


def test_the_languages_are_the_platforms_built_in_ones() -> None:
    assert set(PAGE_WORDS) == set(BUILT_IN_MENU_TEXTS)
    for language, words in PAGE_WORDS.items():
        assert words.language == language
        assert "{title}" in words.typing
        assert "{title}" in words.open_chat
        assert "{reason}" in words.not_delivered
        assert "{reason}" in words.not_accepted
        assert "{status}" in words.http_error


def test_the_script_is_one_file_for_every_language() -> None:
    """Cached once by browsers and proxies: the page carries the tenant's words; the script
    every language's, the same for every tenant, for a flow that talks in another language
    (`settings.language`), and no words of its own besides."""
    english, spanish = served("en"), served("es")
    script = english.get("/chat.js").text
    assert spanish.get("/chat.js").text == script
    version = re.search(r'<script src="chat.js\?v=([0-9a-f]{16})">', english.get("/").text)
    assert version is not None
    assert f'<script src="chat.js?v={version[1]}">' in spanish.get("/").text
    languages = re.search(r"const LANGUAGES = (\{.*\});\n", script)
    assert languages is not None
    assert json.loads(languages[1]) == every_language()
    rest = script.replace(languages[0], "")
    for word in ENGLISH_WORDS.script_words().values():
        assert f'"{word}' not in rest


@pytest.mark.parametrize(
    ("language", "lang", "placeholder"),
    [
        ("pt-BR", "pt-BR", "Escrever uma mensagem…"),
        ("ca_ES", "ca-ES", "Escriure un missatge…"),
        (" DE ", "de", "Nachricht eingeben…"),
        # in the case BCP 47 recommends, as a tenant file may not write it
        ("PT_br", "pt-BR", "Escrever uma mensagem…"),
        ("ca-es", "ca-ES", "Escriure un missatge…"),
        ("es-419", "es-419", "Escribir un mensaje…"),
        ("nl", "en", "Type a message…"),  # not built in: English, and said to be English
        ('es"><script>alert(1)</script>', "en", "Type a message…"),  # not a language tag
        ("", "en", "Type a message…"),
    ],
)
def test_the_tenants_tag_picks_the_words_and_a_safe_lang(
    language: str, lang: str, placeholder: str
) -> None:
    page = served(language).get("/").text
    assert f'<html lang="{lang}">' in page
    assert f'placeholder="{placeholder}"' in page
    assert "alert(1)" not in page


@pytest.mark.parametrize("language", ["pt-PT", "pt_pt", "pt-AO"])
def test_a_portuguese_tenant_outside_brazil_gets_portugals_words(language: str) -> None:
    """A shop in Lisbon: "a escrever", "aceite", "ligação", "marcações" (the calendar's word),
    not Brazil's "digitando", "aceita", "conexão", "agendamentos"."""
    page = served(language).get("/").text
    assert f"hidden>{html.escape(TITLE, quote=True)} está a escrever…</p>" in page
    words = script_words(page)
    assert words["not_accepted"] == "A mensagem não foi aceite: {reason}"
    assert words["no_connection"] == "sem ligação"
    assert "marcações" in words["confirm_reset"]
    for brazilian in ("digitando", "aceita:", "conexão", "agendamentos", "longa demais"):
        assert brazilian not in page
    # what both share stays as it is
    assert 'placeholder="Escrever uma mensagem…"' in page
    assert words["send_again"] == "Enviar de novo"


@pytest.mark.parametrize("language", ["pt", "pt-BR"])
def test_portuguese_alone_is_brazils_as_in_cldr(language: str) -> None:
    page = served(language).get("/").text
    assert f"{html.escape(TITLE, quote=True)} está digitando…" in page
    assert script_words(page) == PAGE_WORDS["pt"].script_words()


def test_words_cannot_end_their_data_block(monkeypatch: pytest.MonkeyPatch) -> None:
    odd = "</script><script>alert(1)</script><!-- & >"
    crafted = {**PAGE_WORDS, "xx": dataclasses.replace(ENGLISH_WORDS, options=odd)}
    monkeypatch.setattr(page_words_module, "PAGE_WORDS", crafted)
    page = load_assets(TITLE, "xx").page
    assert "alert(1)</script>" not in page
    assert re.findall(r"<script[^>]*>", page)[0] == (
        '<script type="application/json" id="chat-words">'
    )
    assert script_words(page)["options"] == odd


def test_the_widgets_bubble_is_labelled_in_the_tenants_language() -> None:
    widget = served("es").get("/widget.js").text
    labels = re.search(r"const LABELS = (\{.*\});", widget)
    assert labels is not None
    assert json.loads(labels[1]) == {
        "open": f"Abrir chat: {TITLE}",
        "close": "Cerrar chat",
        "unavailable": "El chat no está disponible en este momento.",
        "try_again": "Volver a intentar",
    }
    assert "Open chat" not in widget
    assert "Close chat" not in widget
    assert "not available" not in widget


@pytest.mark.parametrize("language", [*sorted(PAGE_WORDS), "pt-PT"])
def test_the_widget_carries_every_word_it_shows_in_each_language(language: str) -> None:
    """The widget runs on the business's site, where the data plane (down, say) cannot word
    anything: what its panel says comes in the script, from the same words as the page's."""
    widget = load_assets("Salon", language).widget_js
    labels = re.search(r"const LABELS = (\{.*\});", widget)
    assert labels is not None
    words = page_words(language)
    assert json.loads(labels[1]) == {
        "open": words.open_chat.replace("{title}", "Salon"),
        "close": words.close_chat,
        "unavailable": words.unavailable,
        "try_again": words.try_again,
    }
    # every word the script reads from LABELS is one of these
    assert set(re.findall(r"LABELS\.(\w+)", widget)) == set(json.loads(labels[1]))


async def test_the_data_plane_serves_the_page_in_the_tenants_language() -> None:
    config = make_tenant_config(language="fr", channel={"type": "webchat", "title": "Salon"})
    async with running_app(config) as chat:
        page = (await chat.http.get("/")).text
        widget = (await chat.http.get("/widget.js")).text
    assert '<html lang="fr">' in page
    assert 'placeholder="Écrire un message…"' in page
    assert html.escape("Salon est en train d'écrire…") in page
    assert script_words(page)["send_again"] == "Renvoyer"
    assert '"close": "Fermer le chat"' in widget
