"""Properties of degradation: every option survives (each id once), everything fits, degrading
twice is a no-op, whatever words (`MenuTexts`) it adds."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hypothesis import example, given, settings
from hypothesis import strategies as st

from botfleet.domain.degrade import BUILT_IN_MENU_TEXTS, MenuTexts, degrade
from botfleet.domain.outputs import (
    Buttons,
    ListMenu,
    Option,
    Output,
    Section,
    TemplateMessage,
    Text,
    options_fingerprint,
    options_of,
)
from botfleet.ports.channels import Capabilities

words = st.text(alphabet=st.sampled_from("abcXYZ ñé.!?\n"), max_size=60)
# A few ids that repeat (dynamic options from connector data can), and blank-edged titles
# that read the same once trimmed.
ids = st.one_of(
    st.sampled_from(["a", "b", "slot_1"]),
    st.text(alphabet=st.sampled_from("abcdef_0123456789"), min_size=1, max_size=12),
)
titles = st.one_of(st.sampled_from(["Yes", "Yes ", " Yes", "Yes  no", "Yes no", " ", "a"]), words)
option = st.builds(Option, id=ids, title=titles, description=words)
option_tuple = st.lists(option, max_size=14).map(tuple)

outputs = st.one_of(
    st.builds(Text, text=st.text(max_size=300)),
    st.builds(Buttons, body=words, buttons=option_tuple),
    st.builds(
        ListMenu,
        body=words,
        button_label=words,
        sections=st.lists(st.builds(Section, title=words, rows=option_tuple), max_size=3).map(
            tuple
        ),
    ),
    st.builds(
        TemplateMessage,
        name=ids,
        language=st.just("es"),
        params=st.lists(words, max_size=3).map(tuple),
        fallback_text=words,
    ),
)

# The words added to menus: built in, or a flow's (any text, a long or empty one too).
menu_words = st.one_of(
    st.sampled_from(list(BUILT_IN_MENU_TEXTS.values())),
    st.builds(MenuTexts, list_button=words.filter(str.strip), number_hint=words),
)

capabilities = st.builds(
    Capabilities,
    buttons=st.booleans(),
    max_buttons=st.integers(0, 5),
    max_button_title=st.integers(1, 30),
    lists=st.booleans(),
    max_list_rows=st.integers(0, 12),
    max_row_title=st.integers(1, 30),
    max_row_description=st.integers(1, 80),
    max_text=st.integers(1, 200),
    templates=st.booleans(),
)


def as_sent(title: str) -> str:
    """A title as a provider compares it: trimmed, runs of blanks as one."""
    return " ".join(title.split())


def sent_as_is(option: Option) -> bool:
    """The title is what channels send (trimmed, never blank): they send it unchanged."""
    return option.title == option.title.strip() and bool(option.title)


def unique_ids(offered: Sequence[Option]) -> bool:
    return len({o.id for o in offered}) == len(offered)


def fits(output: Output, caps: Capabilities) -> bool:
    if isinstance(output, Text):
        return 0 < len(output.text) <= caps.max_text and bool(output.text.strip())
    if isinstance(output, Buttons):
        return (
            caps.buttons
            and 0 < len(output.buttons) <= caps.max_buttons
            and len(output.body) <= caps.max_text
            and all(len(b.title) <= caps.max_button_title for b in output.buttons)
            and all(sent_as_is(b) for b in output.buttons)
            # WhatsApp's rule, on titles as sent: "Yes" and "Yes " are one title
            and len({as_sent(b.title) for b in output.buttons}) == len(output.buttons)
            and unique_ids(output.buttons)
        )
    if isinstance(output, ListMenu):
        return (
            caps.lists
            and 0 < len(output.options) <= caps.max_list_rows
            and len(output.body) <= caps.max_text
            and all(section.rows for section in output.sections)
            and all(len(r.title) <= caps.max_row_title for r in output.options)
            and all(sent_as_is(r) for r in output.options)
            and all(len(r.description) <= caps.max_row_description for r in output.options)
            and unique_ids(output.options)  # across sections: positions count them all
        )
    return caps.templates


def first_of_each_id(output: Output) -> list[Option]:
    """The options the flow gave `output`, a repeated id only the first time."""
    if isinstance(output, Buttons):
        given: Sequence[Option] = output.buttons
    elif isinstance(output, ListMenu):
        given = [row for section in output.sections for row in section.rows]
    else:
        given = []
    by_id: dict[str, Option] = {}
    for o in given:
        by_id.setdefault(o.id, o)
    return list(by_id.values())


def squeeze(text: str) -> str:
    return re.sub(r"\s", "", text)


@settings(max_examples=400)
@given(st.lists(outputs, max_size=4), capabilities)
def test_degraded_outputs_fit_the_channel(given_outputs: list[Output], caps: Capabilities) -> None:
    for output in degrade(given_outputs, caps):
        assert fits(output, caps), output


@settings(max_examples=400)
@given(st.lists(outputs, max_size=4), capabilities)
def test_every_option_stays_offered_by_id_or_by_its_number(
    given_outputs: list[Output], caps: Capabilities
) -> None:
    for output in given_outputs:
        offered = first_of_each_id(output)
        assert list(options_of(output)) == offered  # as the engine keeps them (`last_options`)
        result = degrade([output], caps)
        kept = [o.id for out in result for o in options_of(out)]
        if kept:  # still interactive: every id once, in the same order
            assert kept == [o.id for o in offered]
            # ...so a press sent by position (`#opt<n>.<fingerprint>`) names the same option
            assert options_fingerprint(o for out in result for o in options_of(out)) == (
                options_fingerprint(offered)
            )
            continue
        text = squeeze("".join(out.text for out in result if isinstance(out, Text)))
        position = 0
        for number, opt in enumerate(offered, start=1):
            line = f"{number}.{squeeze(opt.title.strip() or opt.id)}"
            found = text.find(line, position)
            assert found >= 0, (number, opt)  # numbered in option order
            position = found + len(line)


@settings(max_examples=200)
@given(st.lists(outputs, max_size=4), capabilities)
def test_degrading_outputs_together_or_one_by_one_is_the_same(
    given_outputs: list[Output], caps: Capabilities
) -> None:
    one_by_one = tuple(o for output in given_outputs for o in degrade([output], caps))
    assert degrade(given_outputs, caps) == one_by_one


@given(st.lists(outputs, max_size=4), capabilities)
def test_degrading_twice_changes_nothing(given_outputs: list[Output], caps: Capabilities) -> None:
    once = degrade(given_outputs, caps)
    assert degrade(once, caps) == once


@settings(max_examples=300)
@given(st.lists(outputs, max_size=4), capabilities, menu_words)
@example(  # CI's case: the Spanish hint splits into more parts than the English one
    [
        ListMenu("", "", (Section("", (Option("a", "Yes"), Option("0", "Yes"))),)),
        Buttons("", (Option("a", "Yes"),)),
        Buttons("", (Option("a", "Yes", "?"),)),
    ],
    Capabilities(buttons=False, lists=True, max_list_rows=1, max_row_title=1, max_text=2),
    BUILT_IN_MENU_TEXTS["es"],
)
def test_the_words_change_nothing_but_themselves(
    given_outputs: list[Output], caps: Capabilities, texts: MenuTexts
) -> None:
    """Whatever the words, degraded outputs fit, and WhatsApp's and Telegram's senders, which
    degrade again with the English words, send them unchanged."""
    once = degrade(given_outputs, caps, texts)
    assert all(fits(output, caps) for output in once)
    assert degrade(once, caps) == once
    english = degrade(given_outputs, caps)
    assert [o.id for out in once for o in options_of(out)] == [
        o.id for out in english for o in options_of(out)
    ]
    # The words can split texts into a different number of parts, so menus are compared in
    # order among themselves, not by position among all outputs.
    assert [(type(o), options_of(o)) for o in once if not isinstance(o, Text)] == [
        (type(o), options_of(o)) for o in english if not isinstance(o, Text)
    ]
    mine = [o.sections for o in once if isinstance(o, ListMenu)]
    assert mine == [o.sections for o in english if isinstance(o, ListMenu)]


def _all_text(outs: Sequence[Output]) -> str:
    return "".join(o.text for o in outs if isinstance(o, Text))


@given(st.text(max_size=2000), st.integers(1, 300))
def test_splitting_text_loses_only_whitespace(text: str, limit: int) -> None:
    result = degrade([Text(text)], Capabilities(max_text=limit))
    assert squeeze(_all_text(result)) == squeeze(text)
    assert all(isinstance(o, Text) and len(o.text) <= limit for o in result)
