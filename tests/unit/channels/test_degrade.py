"""Degradation rules, each checked exactly at its limit and one past it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from botfleet.adapters.channels.option_ids import positional_press, sendable_ids
from botfleet.domain.degrade import (
    NUMBER_HINT,
    MenuTexts,
    degrade,
    numbered_text,
    repeated_options,
    shorten,
    split_text,
)
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import (
    Buttons,
    ListMenu,
    Option,
    Output,
    Section,
    TemplateMessage,
    Text,
    options_of,
)
from botfleet.flows.matching import as_option_choice
from botfleet.ports.channels import Capabilities

WHATSAPP = Capabilities()  # 3 buttons of 20, lists of 10 rows (24/72), text 4096
NO_INTERACTIVE = Capabilities(buttons=False, lists=False)
NO_LISTS = Capabilities(lists=False)


def options(n: int, prefix: str = "opt") -> tuple[Option, ...]:
    return tuple(Option(id=f"{prefix}_{i}", title=f"Choice {i}") for i in range(1, n + 1))


def one_list(rows: tuple[Option, ...], *, title: str = "", label: str = "See") -> ListMenu:
    return ListMenu(body="Pick one", button_label=label, sections=(Section(title, rows),))


class TestButtons:
    def test_exactly_max_buttons_stay_buttons(self) -> None:
        out = Buttons("Menu", options(3))
        assert degrade([out], WHATSAPP) == (out,)

    def test_one_over_max_buttons_becomes_a_list_when_it_fits(self) -> None:
        (result,) = degrade([Buttons("Menu", options(4))], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert result.body == "Menu"
        assert result.button_label == "Options"
        assert [o.id for o in result.options] == ["opt_1", "opt_2", "opt_3", "opt_4"]

    def test_buttons_that_fit_a_list_exactly_become_that_list(self) -> None:
        caps = Capabilities(max_buttons=3, max_list_rows=5)
        (result,) = degrade([Buttons("Menu", options(5))], caps)
        assert isinstance(result, ListMenu)
        assert len(result.options) == 5

    def test_buttons_over_both_limits_become_numbered_text(self) -> None:
        caps = Capabilities(max_buttons=3, max_list_rows=5)
        (result,) = degrade([Buttons("Menu", options(6))], caps)
        assert isinstance(result, Text)
        assert "1. Choice 1\n2. Choice 2" in result.text
        assert "6. Choice 6" in result.text

    def test_buttons_on_channel_without_buttons_or_lists_are_numbered_under_the_body(
        self,
    ) -> None:
        out = Buttons("What now?", (Option("book", "Book"), Option("cancel", "Cancel")))
        assert degrade([out], NO_INTERACTIVE) == (
            Text(f"What now?\n\n1. Book\n2. Cancel\n\n{NUMBER_HINT}"),
        )

    def test_buttons_on_channel_without_buttons_but_with_lists_become_a_list(self) -> None:
        (result,) = degrade([Buttons("Menu", options(2))], Capabilities(buttons=False))
        assert isinstance(result, ListMenu)
        assert [o.id for o in result.options] == ["opt_1", "opt_2"]

    def test_title_at_the_limit_is_kept(self) -> None:
        title = "x" * 20
        (result,) = degrade([Buttons("Menu", (Option("a", title),))], WHATSAPP)
        assert isinstance(result, Buttons)
        assert result.buttons[0].title == title

    def test_a_title_over_the_limit_goes_as_a_list_row_shown_whole(self) -> None:
        """An appointment's button "Mi., 9. Dez. · 09:00 · Krankengymnastik" was cut to
        "Mi., 9. Dez. · 09:0…": the time lost. A list row shows 24, its description the rest."""
        (result,) = degrade([Buttons("Menu", (Option("a_id", "y" * 21),))], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert result.options == (Option("a_id", "y" * 21),)
        appointment = Option("m1", "Mi., 9. Dez. · 09:00 · Krankengymnastik")
        (result,) = degrade([Buttons("Welchen?", (appointment,))], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert result.options == (
            Option("m1", "Mi., 9. Dez. · 09:00 ·…", "Mi., 9. Dez. · 09:00 · Krankengymnastik"),
        )

    def test_a_title_over_the_limit_is_cut_where_no_list_can_show_it(self) -> None:
        (result,) = degrade([Buttons("Menu", (Option("a_id", "y" * 21),))], NO_LISTS)
        assert isinstance(result, Buttons)
        assert result.buttons[0] == Option("a_id", "y" * 19 + "…")
        assert len(result.buttons[0].title) == 20

    def test_titles_that_shortening_makes_equal_turn_the_buttons_into_a_list(self) -> None:
        # WhatsApp refuses the whole message when two buttons share a title.
        slots = (Option("s1", "Tuesday 14 May, 10:00"), Option("s2", "Tuesday 14 May, 10:30"))
        (result,) = degrade([Buttons("When?", slots)], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert result.options == slots  # rows of 24 hold both titles whole

    def test_list_rows_cut_keep_their_whole_title_as_description(
        self,
    ) -> None:
        rows = (
            Option("a", "Appointment on Tuesday at 10:00"),
            Option("b", "Appointment on Tuesday at 10:30", "with Ana"),
            Option("c", "Colour and cut, long session"),
        )
        (result,) = degrade([one_list(rows)], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert result.options == (
            Option("a", "Appointment on Tuesday…", "Appointment on Tuesday at 10:00"),
            Option("b", "Appointment on Tuesday…", "with Ana"),  # its own description stays
            Option("c", "Colour and cut, long se…", "Colour and cut, long session"),  # shown whole
        )

    def test_equal_titles_on_a_channel_without_lists_are_numbered(self) -> None:
        twins = (Option("a", "Same"), Option("b", "Same"))
        (result,) = degrade([Buttons("Pick", twins)], Capabilities(lists=False))
        assert result == Text(f"Pick\n\n1. Same\n2. Same\n\n{NUMBER_HINT}")

    def test_buttons_without_options_become_their_body(self) -> None:
        assert degrade([Buttons("Just this", ())], WHATSAPP) == (Text("Just this"),)

    def test_custom_hint_and_list_label(self) -> None:
        (as_list,) = degrade([Buttons("M", options(4))], WHATSAPP, MenuTexts(list_button="Ver"))
        assert isinstance(as_list, ListMenu)
        assert as_list.button_label == "Ver"
        (as_text,) = degrade(
            [Buttons("M", options(1))], NO_INTERACTIVE, MenuTexts(number_hint="Responde.")
        )
        assert as_text == Text("M\n\n1. Choice 1\n\nResponde.")


class TestLists:
    def test_exactly_max_rows_stays_a_list(self) -> None:
        out = one_list(options(10))
        assert degrade([out], WHATSAPP) == (out,)

    def test_one_row_over_becomes_numbered_text(self) -> None:
        (result,) = degrade([one_list(options(11))], WHATSAPP)
        assert isinstance(result, Text)
        assert result.text.startswith("Pick one\n\n1. Choice 1\n")
        assert "\n11. Choice 11\n" in result.text
        assert result.text.endswith(NUMBER_HINT)

    def test_rows_are_counted_across_sections(self) -> None:
        out = ListMenu(
            "Pick",
            "See",
            (Section("Morning", options(6, "am")), Section("Afternoon", options(5, "pm"))),
        )
        (result,) = degrade([out], WHATSAPP)
        assert isinstance(result, Text)
        # section titles head their rows; numbering continues across sections
        assert "Morning\n1. Choice 1" in result.text
        assert "Afternoon\n7. Choice 1" in result.text

    def test_list_on_channel_without_lists_becomes_numbered_text(self) -> None:
        (result,) = degrade([one_list(options(2))], Capabilities(lists=False))
        assert result == Text(f"Pick one\n\n1. Choice 1\n2. Choice 2\n\n{NUMBER_HINT}")

    def test_descriptions_follow_the_title_in_numbered_text(self) -> None:
        out = one_list((Option("d", "Haircut", "30 min, 15 EUR"),))
        (result,) = degrade([out], NO_INTERACTIVE)
        assert isinstance(result, Text)
        assert "1. Haircut — 30 min, 15 EUR" in result.text

    @pytest.mark.parametrize(
        ("length", "expected"),
        [(24, Option("row", "r" * 24)), (25, Option("row", "r" * 23 + "…", "r" * 25))],
    )
    def test_row_title_limit(self, length: int, expected: Option) -> None:
        (result,) = degrade([one_list((Option("row", "r" * length),))], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert result.options[0] == expected

    @pytest.mark.parametrize(("length", "expected"), [(72, "d" * 72), (73, "d" * 71 + "…")])
    def test_row_description_limit(self, length: int, expected: str) -> None:
        (result,) = degrade([one_list((Option("row", "R", "d" * length),))], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert result.options[0].description == expected

    def test_section_title_and_button_label_are_shortened(self) -> None:
        out = one_list(options(1), title="s" * 30, label="b" * 30)
        (result,) = degrade([out], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert result.sections[0].title == "s" * 23 + "…"
        assert result.button_label == "b" * 19 + "…"

    def test_empty_sections_are_dropped_and_an_empty_list_is_its_body(self) -> None:
        out = ListMenu("Pick", "See", (Section("none", ()), Section("", options(1))))
        (result,) = degrade([out], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert [s.title for s in result.sections] == [""]
        assert degrade([ListMenu("Nothing", "See", ())], WHATSAPP) == (Text("Nothing"),)


class TestText:
    def test_text_at_the_limit_stays_whole(self) -> None:
        text = "a" * 4096
        assert degrade([Text(text)], WHATSAPP) == (Text(text),)

    def test_text_one_over_the_limit_is_split(self) -> None:
        result = degrade([Text("a" * 4097)], WHATSAPP)
        assert [len(t.text) for t in result if isinstance(t, Text)] == [4096, 1]

    def test_split_prefers_paragraphs(self) -> None:
        text = "First paragraph here.\n\nSecond one. It goes on."
        assert split_text(text, 30) == ["First paragraph here.", "Second one. It goes on."]

    def test_split_prefers_sentences_over_words(self) -> None:
        text = "One two three. Four five six seven"
        assert split_text(text, 25) == ["One two three.", "Four five six seven"]

    def test_split_falls_back_to_words(self) -> None:
        assert split_text("alpha beta gamma delta", 11) == ["alpha beta", "gamma delta"]

    def test_split_cuts_a_word_only_when_nothing_else_fits(self) -> None:
        assert split_text("abcdefghij", 4) == ["abcd", "efgh", "ij"]

    def test_split_keeps_chunks_full_rather_than_cutting_at_an_early_paragraph(self) -> None:
        text = "Hi.\n\n" + "word " * 20
        chunks = split_text(text, 40)
        assert chunks[0].startswith("Hi.\n\nword")
        assert all(len(c) <= 40 for c in chunks)

    def test_split_loses_no_words(self) -> None:
        text = " ".join(f"w{i}." if i % 7 == 0 else f"w{i}" for i in range(500))
        chunks = split_text(text, 50)
        assert " ".join(chunks).split() == text.split()

    def test_blank_text_is_dropped(self) -> None:
        assert degrade([Text(""), Text("  \n"), Text("ok")], WHATSAPP) == (Text("ok"),)

    def test_long_body_of_buttons_goes_first_as_text(self) -> None:
        caps = Capabilities(max_text=20)
        body = "Welcome to the shop. What would you like?"
        result = degrade([Buttons(body, options(2))], caps)
        assert isinstance(result[-1], Buttons)
        assert [o.id for o in result[-1].buttons] == ["opt_1", "opt_2"]
        assert all(isinstance(o, Text) for o in result[:-1])
        texts = [o.text for o in result[:-1] if isinstance(o, Text)]
        assert " ".join([*texts, result[-1].body]).split() == body.split()


class TestTitlesAsSent:
    """Titles are compared, and kept, as channels send them: trimmed, a blank one as its id."""

    @pytest.mark.parametrize(
        "twin",
        ["Yes ", " Yes", "Yes\n", "\tYes  "],
        ids=["trailing", "leading", "newline", "both"],
    )
    def test_titles_equal_once_trimmed_turn_the_buttons_into_a_list(self, twin: str) -> None:
        menu = Buttons("Confirm?", (Option("yes", "Yes"), Option("sure", twin)))
        (result,) = degrade([menu], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert result.options == (Option("yes", "Yes"), Option("sure", "Yes"))

    def test_titles_that_differ_in_a_run_of_blanks_turn_the_buttons_into_a_list(self) -> None:
        menu = Buttons("When?", (Option("a", "Mon  10:00"), Option("b", "Mon 10:00")))
        (result,) = degrade([menu], WHATSAPP)
        assert isinstance(result, ListMenu)

    def test_a_blank_title_shown_as_its_id_is_compared_as_that_id(self) -> None:
        menu = Buttons("Pick", (Option("Book", " "), Option("b", "Book")))
        (result,) = degrade([menu], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert [o.title for o in result.options] == ["Book", "Book"]

    def test_titles_are_trimmed_before_they_are_cut(self) -> None:
        # 22 characters with the blanks, 20 without: whole, not "  Appointment at 1…".
        menu = Buttons(
            "When?",
            (Option("a", "  Appointment at 10:00"), Option("b", "Appointment at 10:30  ")),
        )
        (result,) = degrade([menu], WHATSAPP)
        assert isinstance(result, Buttons)
        assert [o.title for o in result.buttons] == ["Appointment at 10:00", "Appointment at 10:30"]

    def test_buttons_keep_their_titles_trimmed_and_a_blank_one_as_its_id(self) -> None:
        menu = Buttons("Pick", (Option("yes", " Yes "), Option("later", "\n"), Option("n", "No")))
        (result,) = degrade([menu], WHATSAPP)
        assert isinstance(result, Buttons)
        assert [o.title for o in result.buttons] == ["Yes", "later", "No"]

    def test_trailing_blanks_do_not_cut_a_title_that_fits(self) -> None:
        (result,) = degrade([Buttons("Pick", (Option("y", "Yes" + " " * 30),))], WHATSAPP)
        assert isinstance(result, Buttons)
        assert result.buttons[0].title == "Yes"

    def test_list_rows_keep_their_titles_trimmed_and_a_blank_one_as_its_id(self) -> None:
        (result,) = degrade([one_list((Option("r1", " Cut "), Option("r2", "")))], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert result.options == (Option("r1", "Cut"), Option("r2", "r2"))


class TestRepeatedIds:
    """A press carries only the id: the first option with an id stays, later ones go."""

    def test_repeated_button_ids_keep_the_first(self) -> None:
        menu = Buttons(
            "When?",
            (
                Option("s1", "10:00"),
                Option("s2", "10:30"),
                Option("s1", "11:00"),
                Option("s3", "12"),
            ),
        )
        (result,) = degrade([menu], WHATSAPP)
        assert isinstance(result, Buttons)  # three left: they fit as buttons
        assert result.buttons == (Option("s1", "10:00"), Option("s2", "10:30"), Option("s3", "12"))
        assert repeated_options(menu) == 1

    def test_repeated_row_ids_keep_the_first_across_sections(self) -> None:
        out = ListMenu(
            "When?",
            "Slots",
            (
                Section("Mon", (Option("s1", "10:00"), Option("s2", "10:30"), Option("s1", "x"))),
                Section("Tue", (Option("s2", "09:00"),)),  # left empty: the section goes
                Section("Wed", (Option("s3", "09:00"),)),
            ),
        )
        (result,) = degrade([out], WHATSAPP)
        assert isinstance(result, ListMenu)
        assert [s.title for s in result.sections] == ["Mon", "Wed"]
        assert [o.id for o in result.options] == ["s1", "s2", "s3"]
        assert repeated_options(out) == 2

    def test_numbered_text_numbers_each_id_once(self) -> None:
        menu = Buttons("When?", (Option("s1", "10:00"), Option("s1", "11:00"), Option("s2", "12")))
        (result,) = degrade([menu], NO_INTERACTIVE)
        assert result == Text(f"When?\n\n1. 10:00\n2. 12\n\n{NUMBER_HINT}")

    @pytest.mark.parametrize("caps", [WHATSAPP, NO_INTERACTIVE], ids=["buttons", "numbered"])
    def test_a_press_of_the_degraded_menu_names_the_option_shown(self, caps: Capabilities) -> None:
        # The engine keeps `options_of` the menu it produced; the channel shows (and sends by
        # position, when an id is too long) the degraded one: both without the repeat.
        long_id = "slot:" + "9" * 300
        menu = Buttons(
            "When?", (Option("s1", "10:00"), Option("s1", "11:00"), Option(long_id, "12"))
        )
        last_options = options_of(menu)
        (shown,) = degrade([menu], caps)
        if isinstance(shown, Buttons):
            sent = sendable_ids(shown.buttons, lambda i: len(i) <= 256)
            pressed = positional_press(sent[1])
            assert pressed is not None
            text, extra = pressed
        else:
            text, extra = "2", {}  # typed under numbered text
        message = InboundMessage("m1", "c1", MessageType.TEXT, shown_at(), text=text, extra=extra)
        chosen = as_option_choice(message, last_options)
        assert chosen.type is MessageType.BUTTON_REPLY and chosen.payload == long_id


def shown_at() -> datetime:
    return datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_repeated_options_counts_nothing_in_outputs_without_options() -> None:
    outputs: list[Output] = [Text("hi"), TemplateMessage("t", "es"), Buttons("b", options(3))]
    assert [repeated_options(o) for o in outputs] == [0, 0, 0]


class TestTemplates:
    def test_template_kept_on_channels_with_templates(self) -> None:
        out = TemplateMessage("reminder", "es", ("Ana",), "Hola Ana")
        assert degrade([out], Capabilities(templates=True)) == (out,)

    def test_template_becomes_its_fallback_text(self) -> None:
        out = TemplateMessage("reminder", "es", ("Ana",), "Hola Ana, mañana a las 10")
        assert degrade([out], WHATSAPP) == (Text("Hola Ana, mañana a las 10"),)

    def test_template_without_fallback_shows_name_and_params(self) -> None:
        out = TemplateMessage("reminder", "es", ("Ana", "10:00"))
        assert degrade([out], WHATSAPP) == (Text("reminder (Ana, 10:00)"),)
        assert degrade([TemplateMessage("hello", "en")], WHATSAPP) == (Text("hello"),)


class TestNumbering:
    def test_each_output_is_numbered_from_one(self) -> None:
        # the engine reads a typed number against the last output that offered options
        first = Buttons("First", options(4, "a"))
        second = one_list(options(11, "b"))
        result = degrade([first, Text("between"), second], Capabilities(lists=False))
        assert [type(o) for o in result] == [Text, Text, Text]
        assert isinstance(result[0], Text)
        assert isinstance(result[2], Text)
        assert "\n1. Choice 1\n" in result[0].text
        assert "\n4. Choice 4\n" in result[0].text
        assert "\n1. Choice 1\n" in result[2].text
        assert "\n11. Choice 11\n" in result[2].text

    def test_numbers_follow_option_order(self) -> None:
        out = Buttons("B", (Option("z", "Zed"), Option("a", "Ay"), Option("m", "Em")))
        (result,) = degrade([out], NO_INTERACTIVE)
        assert isinstance(result, Text)
        assert "1. Zed\n2. Ay\n3. Em" in result.text

    def test_numbered_text_uses_id_when_title_is_blank(self) -> None:
        text = numbered_text("", [("", (Option("the_id", " "),))], hint="")
        assert text == "1. the_id"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("abc", 3, "abc"),
        ("abcd", 3, "ab…"),
        ("abcd", 1, "…"),
        ("abcd", 0, ""),
        ("ab   cd", 5, "ab…"),
        # never half of what shows as one character
        ("Flags \U0001f1e9\U0001f1ea\U0001f1eb\U0001f1f7 ok", 10, "Flags \U0001f1e9\U0001f1ea…"),
        ("Flags \U0001f1e9\U0001f1ea\U0001f1eb\U0001f1f7 ok", 9, "Flags \U0001f1e9\U0001f1ea…"),
        ("Hi \U0001f468\u200d\U0001f469\u200d\U0001f467 all", 6, "Hi…"),  # a family, whole or not
        ("ok \U0001f44d\U0001f3fd yes", 5, "ok…"),  # thumbs up and its skin tone
        ("cafe\u0301 au lait", 5, "caf…"),  # e and its combining accent
        ("\u2764\ufe0f\u2764\ufe0f", 2, "\u2764…"),  # one cluster is the whole head: cut anyway
    ],
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected


def test_a_word_cut_in_the_middle_keeps_its_emoji_whole() -> None:
    flags = "\U0001f1e9\U0001f1ea" * 6  # six flags, no spaces: cut mid-"word"
    chunks = split_text(flags, 5)
    assert "".join(chunks) == flags
    assert all(len(chunk) % 2 == 0 for chunk in chunks)  # never a lone regional indicator


def test_a_blank_list_body_longer_than_the_text_limit_becomes_an_empty_body() -> None:
    """Found by the property tests: a whitespace-only body over `max_text` split into no chunks
    at all, and degrading the list raised IndexError."""
    caps = Capabilities(buttons=False, lists=True, max_list_rows=1, max_text=1)
    out = degrade([ListMenu("  ", "See", (Section("", options(1)),))], caps)
    assert len(out) == 1
    assert isinstance(out[0], ListMenu)
    assert out[0].body == ""
    assert [row.id for row in out[0].options] == ["opt_1"]
