"""A title's first words are read also after the article it starts with: "minhas consultas"
picks "As minhas consultas", "menu du jour" "Le menu du jour"."""

from __future__ import annotations

import pytest

from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Option
from botfleet.flows.matching import as_option_choice
from botfleet.testing.engine import text

MENU = (
    Option("mine", "📋 As minhas consultas"),
    Option("book", "Marcar consulta"),
    Option("menu", "Le menu du jour"),
    Option("shop", "La tienda"),
)


def picked(typed: str, options: tuple[Option, ...] = MENU) -> str | None:
    chosen = as_option_choice(text(typed), options)
    return chosen.payload if chosen.type is MessageType.BUTTON_REPLY else None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("minhas consultas", "mine"),
        ("Minhas", "mine"),
        ("as minhas consultas", "mine"),
        ("menu du jour", "menu"),
        ("tienda", "shop"),
        ("marcar", "book"),
    ],
)
def test_the_words_after_a_titles_article(typed: str, expected: str) -> None:
    assert picked(typed) == expected


def test_not_a_word_from_the_middle_nor_a_title_two_options_begin_so() -> None:
    assert picked("consultas") is None
    assert picked("du jour") is None
    two = (Option("a", "A tienda nueva"), Option("b", "La tienda vieja"))
    assert picked("tienda", two) is None
    assert picked("tienda nueva", two) == "a"


def test_an_article_alone_picks_nothing() -> None:
    assert picked("la", (Option("a", "La casa"), Option("b", "La tienda"))) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("blanqueamento", "white"), ("revisoin", "check"), ("limpeza dental", "clean")],
)
def test_a_typo_of_the_words_after_the_article(typed: str, expected: str) -> None:
    menu = (
        Option("check", "Una revisión"),
        Option("clean", "La limpieza dental"),
        Option("white", "El blanqueamiento"),
    )
    assert picked(typed, menu) == expected


def test_a_typed_id_stays_a_payload_and_names_its_option() -> None:
    chosen = as_option_choice(text("book"), MENU)
    assert (chosen.type, chosen.payload, chosen.option_title) == (
        MessageType.TEXT,
        "",
        "Marcar consulta",
    )
    assert chosen.effective_payload == "book"
