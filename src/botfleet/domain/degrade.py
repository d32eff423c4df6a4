"""Output degradation: fit channel-neutral outputs to what a channel can show. Pure, no I/O.

Rules, applied to each output in order:

* An option whose id an earlier option of the same output has is left out (`unique_options`):
  a press carries only the id. The engine's `last_options` leave out the same ones.
* Option titles are shown as channels send them: without blanks at their ends, a blank one as
  its option's id, shortened with "…" to the limit.
* `Buttons` within `max_buttons` stay buttons while their titles stay distinct, compared as
  sent (runs of blanks count as one: "Yes" and "Yes " are one title). More buttons, titles
  that shortening (or the flow) made equal, or a channel without buttons become a one-section
  `ListMenu` when the channel has lists and they fit, else numbered text.
* A `ListMenu` within `max_list_rows` stays a list (titles and descriptions shortened; a row
  whose title was cut to the same text as another's, and that has no description, gets its
  whole title as description; rows may share a title); more rows (or a channel without lists)
  become numbered text.
* `Text` longer than `max_text` is split at paragraph, line, sentence or word boundaries.
* `TemplateMessage` on a channel without templates becomes its `fallback_text`, as `Buttons`
  of its quick replies when it has some (degraded as buttons are).

The words these add (the label of a list made of buttons, the line under numbered text) are a
`MenuTexts`: the flow's `settings.menu_texts`, else the built-in ones of the contact's or the
tenant's language (`menu_texts`), else English.

Option ids never change (repeats are only left out). Numbers in numbered text are 1-based in
option order, per output: the engine keeps the options of the last output that offered any
(`last_options`) and reads a typed "2" as the second of them, so the order must be kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from botfleet.domain.built_in_texts import in_language
from botfleet.domain.outputs import (
    Buttons,
    Capabilities,
    ListMenu,
    Option,
    Output,
    Section,
    TemplateMessage,
    Text,
    unique_options,
)

#: Hint added under numbered options; the engine accepts the number as a reply.
NUMBER_HINT = "Reply with a number."
#: Label of the list button when buttons are turned into a list.
LIST_LABEL = "Options"
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class MenuTexts:
    """The words degradation adds to a menu (`settings.menu_texts` in a flow)."""

    #: Label of the button that opens a list made of buttons.
    list_button: str = LIST_LABEL
    #: Line under options sent as numbered text (blank: none).
    number_hint: str = NUMBER_HINT


ENGLISH = MenuTexts()

#: The built-in words by language (ISO 639-1 code); other languages get English. The platform's
#: other sentences (the default apology, the LLM's safe text) are in `built_in_texts`, for the
#: same languages.
BUILT_IN_MENU_TEXTS: Mapping[str, MenuTexts] = MappingProxyType(
    {
        "en": ENGLISH,
        "es": MenuTexts("Opciones", "Basta con responder con un número."),
        "pt": MenuTexts("Opções", "Basta responder com um número."),
        "fr": MenuTexts("Options", "Il suffit de répondre par un numéro."),
        "de": MenuTexts("Optionen", "Bitte mit einer Zahl antworten."),
        "it": MenuTexts("Opzioni", "Basta rispondere con un numero."),
        "ca": MenuTexts("Opcions", "Només cal respondre amb un número."),
    }
)


@lru_cache(maxsize=512)
def menu_texts(
    language: str,
    fallback_language: str = "",
    list_button: str | None = None,
    number_hint: str | None = None,
) -> MenuTexts:
    """The words for a turn: `list_button` and `number_hint` when given (a flow's
    `settings.menu_texts`), each other one built in for `language` (the contact's) if it has
    them, else for `fallback_language` (the tenant's), else English (a blank `list_button` is
    not given). Languages are tags such as "es", "pt-BR" or "ca_ES", in any case.

    Cached: the runtime asks once per turn with the same few arguments (positional, so the
    call builds no keyword dict) and gets the same `MenuTexts` object each time."""
    built_in = in_language(BUILT_IN_MENU_TEXTS, language, fallback_language)
    if list_button is None and number_hint is None:
        return built_in
    return MenuTexts(
        # a blank label would show nothing (WhatsApp would put its own English one)
        list_button=list_button if list_button and list_button.strip() else built_in.list_button,
        number_hint=built_in.number_hint if number_hint is None else number_hint,
    )


# Punctuation that ends a sentence when whitespace follows it.
_SENTENCE_END = re.compile(r"[.!?…](?=\s)")
_WHITESPACE = re.compile(r"\s")


def degrade(
    outputs: Sequence[Output], caps: Capabilities, texts: MenuTexts = ENGLISH
) -> tuple[Output, ...]:
    """Rewrite `outputs` so that every one of them fits `caps`.

    Args:
        outputs: What the engine produced, in order.
        caps: The channel's limits.
        texts: The words added to menus (a list's button label, the line under numbered
            text): the flow's or its language's (`menu_texts`), English by default.

    Returns:
        Outputs that fit the channel, in the same order; empty texts are dropped.
    """
    result: list[Output] = []
    for output in outputs:
        result.extend(_degrade_one(output, caps, texts))
    return tuple(result)


def _degrade_one(output: Output, caps: Capabilities, texts: MenuTexts) -> list[Output]:
    if isinstance(output, Text):
        return _texts(output.text, caps)
    if isinstance(output, Buttons):
        return _degrade_buttons(output, caps, texts)
    if isinstance(output, ListMenu):
        return _degrade_list(output, caps, texts.number_hint)
    if caps.templates:
        return [output]
    if output.quick_replies:
        # The reminder's "Confirm" / "Cancel" as buttons of its fallback text, each sending
        # its payload: the flow that routes the template's presses routes these the same way.
        as_buttons = Buttons(_template_text(output), output.quick_replies)
        return _degrade_buttons(as_buttons, caps, texts)
    return _texts(_template_text(output), caps)


def _degrade_buttons(output: Buttons, caps: Capabilities, texts: MenuTexts) -> list[Output]:
    buttons = unique_options(output.buttons)
    if not buttons:
        return _texts(output.body, caps)
    if caps.buttons and len(buttons) <= caps.max_buttons:
        titled = tuple(_shorten_option(b, caps.max_button_title) for b in buttons)
        # WhatsApp refuses buttons with one title twice (the whole message), and a person
        # could not tell them apart: "Tue 14 May, 10:00" and "…10:30" both cut to "Tue 14 May, 1…".
        # A cut title where a list could show it whole (a row's description holds the rest):
        # an appointment "Mi., 9. Dez. · 09:00 · Krankengymnastik" lost its time as a button.
        unique = len({_title_key(option.title) for option in titled}) == len(titled)
        cut = any(len(_shown_title(b)) > caps.max_button_title for b in buttons)
        if unique and not (cut and caps.lists and len(buttons) <= caps.max_list_rows):
            prefix, body = _split_body(output.body, caps)
            return [*prefix, Buttons(body=body, buttons=titled)]
    if caps.lists and len(buttons) <= caps.max_list_rows:
        as_list = ListMenu(
            body=output.body,
            button_label=texts.list_button,
            sections=(Section(title="", rows=buttons),),
        )
        return _degrade_list(as_list, caps, texts.number_hint)
    text = numbered_text(output.body, [("", buttons)], hint=texts.number_hint)
    return _texts(text, caps)


def _degrade_list(output: ListMenu, caps: Capabilities, hint: str) -> list[Output]:
    kept = _unique_rows(output.sections)
    rows = [row for section in kept for row in section.rows]
    if not rows:
        return _texts(output.body, caps)
    if caps.lists and len(rows) <= caps.max_list_rows:
        prefix, body = _split_body(output.body, caps)
        limit = caps.max_row_title
        sections = tuple(
            Section(
                title=shorten(section.title, limit),
                rows=tuple(_shorten_row(row, caps) for row in section.rows),
            )
            for section in kept
        )
        label = shorten(output.button_label, caps.max_button_title)
        return [*prefix, ListMenu(body=body, button_label=label, sections=sections)]
    groups = [(section.title, section.rows) for section in kept]
    return _texts(numbered_text(output.body, groups, hint=hint), caps)


def _unique_rows(sections: Sequence[Section]) -> list[Section]:
    """The sections with rows (channels reject empty ones), each row id once across them all,
    as `unique_options` keeps them: positions and fingerprints count the rows of every section."""
    seen: set[str] = set()
    kept: list[Section] = []
    for section in sections:
        rows: list[Option] = []
        for row in section.rows:
            if row.id not in seen:
                seen.add(row.id)
                rows.append(row)
        if len(rows) == len(section.rows) and rows:
            kept.append(section)
        elif rows:
            kept.append(Section(section.title, tuple(rows)))
    return kept


def repeated_options(output: Output) -> int:
    """How many options of `output` degradation leaves out because an earlier one has their id
    (for a warning: flows leave repeats out already, with a diagnostic)."""
    if isinstance(output, Buttons):
        offered = output.buttons
    elif isinstance(output, ListMenu):
        offered = output.options
    else:
        return 0
    return len(offered) - len(unique_options(offered))


def _template_text(output: TemplateMessage) -> str:
    if output.fallback_text.strip():
        return output.fallback_text
    params = ", ".join(p for p in output.params if p)
    return f"{output.name} ({params})" if params else output.name


def numbered_text(
    body: str,
    groups: Sequence[tuple[str, Sequence[Option]]],
    *,
    start: int = 1,
    hint: str = NUMBER_HINT,
) -> str:
    """Options as "1. Book" lines under the body, one block per titled group, then the hint."""
    blocks: list[str] = [body.strip()] if body.strip() else []
    number = start
    for title, options in groups:
        lines = [title.strip()] if title.strip() else []
        for option in options:
            line = f"{number}. {option.title.strip() or option.id}"
            if option.description.strip():
                line += f" — {option.description.strip()}"
            lines.append(line)
            number += 1
        blocks.append("\n".join(lines))
    if hint.strip():
        blocks.append(hint.strip())
    return "\n\n".join(blocks)


def _texts(text: str, caps: Capabilities) -> list[Output]:
    return [Text(chunk) for chunk in split_text(text, caps.max_text)]


def _split_body(body: str, caps: Capabilities) -> tuple[list[Output], str]:
    """A long body: all but the last chunk go first as texts; the last stays the body."""
    if len(body) <= caps.max_text:
        return [], body
    chunks = split_text(body, caps.max_text)
    if not chunks:  # a blank body: the list keeps an empty one (senders fill it in if needed)
        return [], ""
    return [Text(chunk) for chunk in chunks[:-1]], chunks[-1]


def _shown_title(option: Option) -> str:
    """The title as channels send it: a blank one would be refused (WhatsApp) or show nothing,
    so its option's id stands in, as numbered text does."""
    return option.title.strip() or option.id.strip()


def _title_key(title: str) -> str:
    """Titles with the same key are one to a person, and may be to WhatsApp (which refuses
    buttons with one title twice): runs of blanks count as one."""
    return " ".join(title.split())


def _shorten_option(option: Option, limit: int) -> Option:
    title = shorten(_shown_title(option), limit)
    if title == option.title:
        return option
    return Option(id=option.id, title=title, description=option.description)


def _shorten_row(row: Option, caps: Capabilities) -> Option:
    """The row within the limits; a cut title keeps its whole text in the description, when
    the row has none: what was cut (an appointment's time, a service) stays in sight, and two
    titles cut to the same text can be told apart."""
    full = _shown_title(row)
    fits = len(full) <= caps.max_row_title and len(row.description) <= caps.max_row_description
    if fits and full == row.title:
        return row
    title = shorten(full, caps.max_row_title)
    description = row.description
    if title != full and not description.strip():
        description = full
    return Option(
        id=row.id, title=title, description=shorten(description, caps.max_row_description)
    )


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start followed by "…"."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[: max(limit, 0)]
    return text[: cluster_start(text, limit - len(ELLIPSIS))].rstrip() + ELLIPSIS


def cluster_start(text: str, cut: int) -> int:
    """`cut`, or the nearest position before it that does not split what shows as one
    character: a letter and its accents, an emoji and its skin tone or variation selector, a
    ZWJ sequence (👨‍👩‍👧), a flag's two regional indicators. Falls back to `cut` if the whole
    head is one such cluster.

    Written by hand, a subset of Unicode's grapheme rules (UAX #29): the libraries that do it all
    (`regex`'s ``\\X``, `grapheme`) would be a dependency for one cosmetic rule, and providers
    count code points, so the limits stay exact either way.
    """
    position = cut
    while 0 < position < len(text) and not _breakable(text, position):
        position -= 1
    return position if position > 0 else cut


def _breakable(text: str, position: int) -> bool:
    before, after = text[position - 1], text[position]
    if _extends(after) or before == _ZWJ:
        return False
    if _is_regional(before) and _is_regional(after):
        run = 0
        while position - run > 0 and _is_regional(text[position - run - 1]):
            run += 1
        return run % 2 == 0  # between two flags, not inside one
    return True


_ZWJ = "\u200d"


def _extends(char: str) -> bool:
    """A code point that belongs to the character before it."""
    code = ord(char)
    return (
        char == _ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (emoji or text style)
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # tags (subdivision flags)
        or unicodedata.category(char) in _MARKS
    )


_MARKS = frozenset({"Mn", "Mc", "Me"})


def _is_regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into chunks of at most `limit` characters.

    Cuts at the last paragraph break that fits, else line break, else sentence end, else
    whitespace, else mid-word. Whitespace at the cuts is dropped; text that fits is returned
    unchanged; blank text gives no chunks.
    """
    if not text.strip():
        return []
    if len(text) <= limit:
        return [text]
    limit = max(limit, 1)
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _cut_position(rest, limit)
        head = rest[:cut].rstrip()
        if head:
            chunks.append(head)
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def _cut_position(text: str, limit: int) -> int:
    """Where to cut `text` so the head has at most `limit` characters (always > 0).

    The coarsest boundary (paragraph, line, sentence, word) in the second half of the window
    wins, so chunks stay reasonably full; failing that, the coarsest boundary anywhere; a word
    is cut only when the window has no boundary at all.
    """
    window = text[: limit + 1]  # a separator right after `limit` characters still counts
    candidates = _boundaries(window)
    for minimum in (limit // 2, 1):
        for positions in candidates:
            if positions and positions[-1] >= max(minimum, 1):
                return positions[-1]
    return cluster_start(text, limit)


def _boundaries(window: str) -> list[list[int]]:
    """Cut positions in `window` per kind, coarsest kind first, each list ascending."""
    paragraphs = [m.start() for m in re.finditer(r"\n\n", window)]
    lines = [m.start() for m in re.finditer(r"\n", window)]
    sentences = [m.end() for m in _SENTENCE_END.finditer(window)]
    words = [m.start() for m in _WHITESPACE.finditer(window)]
    return [paragraphs, lines, sentences, words]
