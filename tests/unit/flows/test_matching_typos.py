"""Titles typed with a typo ("reshcedule" for "Reschedule", "hiarcut" for "Haircut"): the last step
of reading a typed answer to a menu, and its safety rules (docs/flow-dsl.md, "Numbered and
typed answers")."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Option
from botfleet.flows import matching
from botfleet.flows.matching import as_option_choice
from botfleet.flows.typed_typos import osa_distance, typo_bound
from botfleet.testing.engine import text

MENU = (
    Option("menu_book", "Book"),
    Option("menu_cancel", "Cancel"),
    Option("menu_move", "Reschedule"),
    Option("menu_view", "My appointments"),
)
SERVICES = (
    Option("svc_haircut", "Haircut"),
    Option("svc_manicure", "Manicure"),
    Option("svc_color", "Colour and cut"),
    Option("svc_kids", "Odontopediatría"),
)
ACTIONS = (
    Option("do_move", "Change the time"),
    Option("do_cancel", "Cancel it"),
    Option("back_to_menu", "Back to menu"),
)
TUNE_UPS = (Option("basic", "Basic tune-up"), Option("full", "Full tune-up"))


def chosen(said: str, options: tuple[Option, ...]) -> str | None:
    result = as_option_choice(text(said), options)
    return None if result.type is MessageType.TEXT else result.payload


@pytest.mark.parametrize(
    ("said", "options", "payload"),
    [
        ("reshcedule", MENU, "menu_move"),  # two neighbours swapped: one edit
        ("RESHCEDULE!", MENU, "menu_move"),  # case and punctuation as the exact steps ignore them
        ("chnage", ACTIONS, "do_move"),  # the first word of "Change the time"
        ("chnage the time", ACTIONS, "do_move"),
        ("Manicur", SERVICES, "svc_manicure"),  # a letter left out
        ("manicura", SERVICES, "svc_manicure"),  # a letter changed
        ("hiarcut", SERVICES, "svc_haircut"),
        ("haircutt", SERVICES, "svc_haircut"),  # a letter added
        ("hàircutt", SERVICES, "svc_haircut"),  # accents ignored, as in the exact steps
        ("colur and cut", SERVICES, "svc_color"),
        ("odontopediatira", SERVICES, "svc_kids"),  # long words: one edit...
        ("odontopdiatira", SERVICES, "svc_kids"),  # ... or two
        ("basci", TUNE_UPS, "basic"),
        ("basci tune-up", TUNE_UPS, "basic"),
    ],
)
def test_a_title_typed_with_a_typo_picks_its_option(
    said: str, options: tuple[Option, ...], payload: str
) -> None:
    assert chosen(said, options) == payload


def test_a_typed_row_of_a_list_arrives_as_a_list_reply_keeping_what_was_typed() -> None:
    result = as_option_choice(text("hiarcut"), SERVICES, from_list=True)
    assert (result.type, result.payload, result.text) == (
        MessageType.LIST_REPLY,
        "svc_haircut",
        "hiarcut",
    )


@pytest.mark.parametrize(
    ("said", "options"),
    [
        ("bok", MENU),  # three letters: too short for a typo ("Book" has four)
        ("boook", MENU),  # "Book" has four letters: too short too
        ("no", (Option("a", "Now open"),)),
        ("ok", (Option("a", "Oak table"),)),
        ("si", (Option("a", "Sit"),)),
        ("dont", (Option("a", "Done"), Option("b", "Not yet"))),
        ("colour and cutt", SERVICES),  # "cut" is too short for a typo
        ("colour adn cut", SERVICES),  # and so is "and"
        ("hiarcu", SERVICES),  # two edits in a word of seven letters
        ("odontopdiatiar", SERVICES),  # three in a long one
        ("cancle appointment", ACTIONS),  # a word the title does not have
        ("tiem", ACTIONS),  # not a title's first word
        ("it cancle", ACTIONS),
    ],
)
def test_short_words_and_other_words_are_no_typo(said: str, options: tuple[Option, ...]) -> None:
    assert chosen(said, options) is None


@pytest.mark.parametrize(
    ("said", "options"),
    [
        ("pack 1001", (Option("a", "Pack 1000"),)),
        ("room 1o1", (Option("a", "Room 101"),)),
        ("10:31", (Option("a", "10:30"),)),
        ("123456", (Option("a", "123457 points"),)),
        ("12345", (Option("a", "12354"),)),
    ],
)
def test_numbers_and_digits_are_never_read_as_typos(said: str, options: tuple[Option, ...]) -> None:
    assert chosen(said, options) is None


@pytest.mark.parametrize(
    ("said", "options"),
    [
        ("chnage", (Option("a", "Change it"), Option("b", "Change all"))),  # same first word
        ("haircot", (Option("a", "Haircut"), Option("b", "Haircat"))),  # one edit from both
        ("hiarcut", (Option("a", "Haircut"), Option("b", "Haircut"))),  # two titled the same
        ("tune-up", TUNE_UPS),  # no typo, but the word of two titles
    ],
)
def test_a_typo_two_options_are_as_close_to_picks_neither(
    said: str, options: tuple[Option, ...]
) -> None:
    assert chosen(said, options) is None


def test_the_only_close_option_is_picked_when_another_is_further_than_a_typo() -> None:
    options = (Option("a", "Change it"), Option("b", "Change all"))
    assert chosen("chnage it", options) == "a"  # "it" says which
    assert chosen("chnage al", options) is None  # "al" is short: no typo read in it


@pytest.mark.parametrize(
    ("said", "options"),
    [
        # "clean" is a word of "Deep clean", not a typo of "Clear"
        ("clean", (Option("a", "Deep clean"), Option("b", "Clear gel polish"))),
        ("claro", (Option("a", "Clara"), Option("b", "Marta"))),  # a yes, not a stylist
        ("never", (Option("a", "Fever check"), Option("b", "Other"))),  # a no
        ("julio", (Option("a", "Junio"), Option("b", "Agosto"))),  # a month
        ("junho", (Option("a", "Julho"),)),
    ],
)
def test_a_real_word_is_no_typo_of_another(said: str, options: tuple[Option, ...]) -> None:
    assert chosen(said, options) is None


def test_a_confirmation_takes_no_typo_a_menu_without_a_no_does() -> None:
    confirm = (Option("yes_move", "Yes, reschedule"), Option("no_keep", "No, keep it"))
    assert chosen("yes reshcedule", confirm) is None
    assert chosen("yes, reschedule", confirm) == "yes_move"  # typed right: the exact step
    assert chosen("sí", (Option("y", "Sí"), Option("n", "No"))) == "y"
    other = (Option("yes_move", "Yes, reschedule"), Option("back", "Back to menu"))
    assert chosen("yes reshcedule", other) == "yes_move"


@pytest.mark.parametrize(
    ("said", "options"),
    [
        ("cancle", MENU),
        ("cancer", MENU),  # a real word a typo away from "cancel"
        ("dancel", MENU),
        ("Cancer?", (Option("move", "Reschedule"), Option("cancel", "Cancel"))),
        ("cancle it", ACTIONS),
        ("cancer", (Option("keep", "Keep my booking"), Option("cancel", "Cancel booking"))),
        ("anulas", (Option("ver", "Ver mi cita"), Option("anular", "Anular cita"))),
        ("anual", (Option("ver", "Ver mi cita"), Option("anular", "Anular cita"))),
        ("delte", (Option("d", "Delete my data"), Option("k", "Keep it"))),
        ("stornieen", (Option("s", "Stornieren"), Option("b", "Behalten"))),
        # Catalan: the docs promise "in the platform's languages" (physio walk-through)
        ("cancelar", (Option("ok", "Confirmar"), Option("no", "Cancel·lar"))),
        ("anular", (Option("ok", "Confirmar"), Option("no", "Anul·lar la cita"))),
    ],
)
def test_an_option_that_undoes_something_is_never_picked_by_a_typo(
    said: str, options: tuple[Option, ...]
) -> None:
    """A cancellation read from "cancer" is worse than asking again (security review)."""
    assert chosen(said, options) is None


def test_an_option_that_undoes_something_is_still_picked_typed_right() -> None:
    assert chosen("cancel", MENU) == "menu_cancel"
    assert chosen("cancel", ACTIONS) == "do_cancel"  # its first word
    spanish = (Option("ver", "Ver mi cita"), Option("es_cancel", "Anular cita"))
    assert chosen("anular", spanish) == "es_cancel"
    catalan = (Option("ok", "Confirmar"), Option("ca_cancel", "Cancel·lar"))
    assert chosen("cancel·lar", catalan) == "ca_cancel"


def test_an_option_id_typed_stays_that_payload() -> None:
    options = (Option("cancel_it", "Cancel it"), Option("keep", "Keep it"))
    result = as_option_choice(text("cancle_it"), options)
    assert result.type is MessageType.TEXT
    assert as_option_choice(text("cancel_it"), options).type is MessageType.TEXT


def test_the_exact_steps_come_first() -> None:
    # "basic" is the first word of one title and one edit from another's ("basin"): the
    # exact reading wins and the typo step is not reached.
    options = (Option("tune_basic", "Basic tune-up"), Option("repair", "Basin repair"))
    assert chosen("basic", options) == "tune_basic"
    assert chosen("basin", options) == "repair"


class _Calls:
    def __init__(self) -> None:
        self.seen: list[tuple[Sequence[str], int]] = []

    def __call__(self, typed: Sequence[str], titles: Sequence[Sequence[str]]) -> int | None:
        self.seen.append((typed, len(titles)))
        return None


@pytest.mark.parametrize(
    "pasted",
    [
        "a" * 4096,  # one word: longer than any title and its typos
        ("cancle " * 600)[:4096],  # many words: more than any title has
        "hiarcut " + "x" * 4088,  # a typo first, then a paste: still two words too long
    ],
)
def test_a_long_paste_is_not_compared_at_all(pasted: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _Calls()
    monkeypatch.setattr(matching, "closest_by_typo", calls)
    assert chosen(pasted, SERVICES) is None
    assert calls.seen == []
    assert chosen("hiarcut", SERVICES) is None  # the spy answers; it is reached for a word
    assert calls.seen == [(("hiarcut",), len(SERVICES))]


def _reference_osa(first: str, second: str) -> int:
    """The textbook optimal string alignment distance, the whole table."""
    table = [[0] * (len(second) + 1) for _ in range(len(first) + 1)]
    for i in range(len(first) + 1):
        table[i][0] = i
    for j in range(len(second) + 1):
        table[0][j] = j
    for i in range(1, len(first) + 1):
        for j in range(1, len(second) + 1):
            cost = 0 if first[i - 1] == second[j - 1] else 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and first[i - 1] == second[j - 2] and first[i - 2] == second[j - 1]:
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
    return table[-1][-1]


@pytest.mark.parametrize(
    ("first", "second", "distance"),
    [
        ("cancle", "cancel", 1),
        ("hiarcut", "haircut", 1),
        ("manicur", "manicure", 1),
        ("ca", "abc", 3),  # optimal string alignment: no edit of a swapped pair
        ("", "abc", 3),
        ("same", "same", 0),
    ],
)
def test_osa_distance_counts_a_swap_as_one_edit(first: str, second: str, distance: int) -> None:
    assert osa_distance(first, second, 5) == distance
    assert osa_distance(first, second, 0) == (0 if distance == 0 else 1)


@given(
    st.text(alphabet="abcd", max_size=10),
    st.text(alphabet="abcd", max_size=10),
    st.integers(min_value=0, max_value=3),
)
def test_osa_distance_is_the_textbook_one_capped_at_bound_plus_one(
    first: str, second: str, bound: int
) -> None:
    assert osa_distance(first, second, bound) == min(_reference_osa(first, second), bound + 1)


def test_the_typo_allowed_grows_with_the_shorter_word() -> None:
    assert typo_bound("book", "bokk") == 0
    assert typo_bound("cancle", "cancel") == 1
    assert typo_bound("manicur", "manicure") == 1
    assert typo_bound("manicuree", "manicure") == 2
    assert typo_bound("room1", "room2") == 0


_WORD = st.text(alphabet="abcdeno", min_size=1, max_size=9)
_TITLES = st.lists(
    st.lists(_WORD, min_size=1, max_size=3).map(" ".join),
    min_size=1,
    max_size=6,
    unique_by=lambda title: " ".join(title.split()),
)


@given(_TITLES, st.data())
def test_an_exact_title_always_wins_over_a_typo(titles: list[str], data: st.DataObject) -> None:
    options = tuple(Option(f"opt_{n}", title) for n, title in enumerate(titles))
    picked = data.draw(st.sampled_from(options))
    assert chosen(picked.title, options) == picked.id


@given(_TITLES, _WORD, st.randoms(use_true_random=False))
def test_matching_is_deterministic_whatever_the_options_order(
    titles: list[str], said: str, rng: random.Random
) -> None:
    options = tuple(Option(f"opt_{n}", title) for n, title in enumerate(titles))
    first = chosen(said, options)
    assert chosen(said, options) == first
    shuffled = list(options)
    rng.shuffle(shuffled)
    assert chosen(said, tuple(shuffled)) == first  # letters only: no position is typed
