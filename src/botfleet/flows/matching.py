"""Transition matching and numbered/titled answers. Pure functions."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date
from functools import lru_cache

from botfleet.domain.messages import OPTION_MENU, STALE_MENU, InboundMessage, MessageType
from botfleet.domain.outputs import Option, options_fingerprint
from botfleet.flows.render import Renderer
from botfleet.flows.schema import Transition
from botfleet.flows.typed_days import fold as _fold
from botfleet.flows.typed_days import option_day, typed_day
from botfleet.flows.typed_times import time_candidates, title_time
from botfleet.flows.typed_typos import MOST_EDITS, closest_by_typo


def effective_payload(message: InboundMessage) -> str:
    """The payload a transition compares against (`InboundMessage.effective_payload`, which is
    also the `message.payload` templates and conditions see)."""
    return message.effective_payload


@lru_cache(maxsize=4096)
def _folded_title(title: str) -> str:
    """`_fold` of an option's title: titles repeat turn after turn (the same menu), so each is
    folded once."""
    return _fold(title)


@lru_cache(maxsize=4096)
def _loose_title(title: str) -> str:
    """`_loose` of an option's title, computed once per title (see `_folded_title`)."""
    return _loose(_fold(title))


def _loose(folded: str) -> str:
    """A folded text without what is neither a letter nor a digit at its ends (emoji with their
    skin tones and variation selectors, a keycap such as 1️⃣, flags, symbols, punctuation,
    blanks), each run of blanks inside it one space: "📅 pedir  cita!" -> "pedir cita".
    Empty when nothing is left ("👍")."""
    start, end = 0, len(folded)
    while start < end:
        if _is_word(folded[start]):
            after = _keycap_end(folded, start)
            if after == start:
                break
            start = after
        else:
            start += 1
    while end > start:
        char = folded[end - 1]
        if char == _KEYCAP:
            end -= 1
            if end > start and folded[end - 1] in _VARIATION_SELECTORS:
                end -= 1
            if end > start and folded[end - 1] in _KEYCAP_BASES:
                end -= 1
        elif _is_word(char):
            break
        else:
            end -= 1
    return " ".join(folded[start:end].split())


_KEYCAP = "\u20e3"  # "1️⃣" is "1", U+FE0F, U+20E3: an emoji, not the digit 1
_KEYCAP_BASES = frozenset("0123456789#*")
_VARIATION_SELECTORS = frozenset(chr(code) for code in range(0xFE00, 0xFE10))
_WORD_CATEGORIES = frozenset("LNM")


def _is_word(char: str) -> bool:
    """A letter, a digit or a mark that belongs to one, not an emoji's keycap or selector."""
    if char == _KEYCAP or char in _VARIATION_SELECTORS:
        return False
    return unicodedata.category(char)[0] in _WORD_CATEGORIES


def _keycap_end(text: str, start: int) -> int:
    """Where the keycap emoji starting at `start` ends ("1️⃣", "#⃣"), or `start` if none does."""
    if text[start] not in _KEYCAP_BASES:
        return start
    after = start + 1
    if after < len(text) and text[after] in _VARIATION_SELECTORS:
        after += 1
    if after < len(text) and text[after] == _KEYCAP:
        return after + 1
    return start


def _by_title(text: str, options: tuple[Option, ...], today: date | None) -> Option | None:
    """The option whose title `text` is, if exactly one is.

    First as typed, ignoring only case, accents and blanks at the ends ("odontopediatria" is
    "Odontopediatría"); failing that, also ignoring emoji, symbols and punctuation at the ends
    and counting each run of blanks as one ("tarde" is "🌇 Tarde", "📅 pedir  cita" is
    "📅 Pedir cita"). A text two options answer (their titles read the same) picks neither:
    the contact did not say which. A text that is an option's id is read loosely as no title:
    it stays that id, typed (a recognised payload). Failing all that, the first words of one
    title (`_by_first_words`), then a time typed for a title that is one (`_by_time`), then a
    day typed for an option that is one (`_by_day`, only given the turn's `today`), and last a
    title or its first words typed with a typo (`_by_typo`)."""
    folded = _fold(text)
    if not folded:
        return None
    exact = [option for option in options if _folded_title(option.title) == folded]
    if exact:
        return exact[0] if len(exact) == 1 else None
    loose = _loose(folded)
    if not loose or any(option.id == text.strip() for option in options):
        return None
    found = [option for option in options if _loose_title(option.title) == loose]
    if found:
        return found[0] if len(found) == 1 else None
    return (
        _by_first_words(loose, options)
        or _by_time(folded, options)
        or (None if today is None else _by_day(folded, options, today))
        or _by_typo(loose, options)
    )


def _by_first_words(loose: str, options: tuple[Option, ...]) -> Option | None:
    """The one option whose title begins with the words typed: "basic" is "Basic tune-up",
    "yes" is "Yes, book it", "cancel" is "Cancel it", "yes book it" is "Yes, book it" (the
    punctuation around each word left out), also after an article that starts the title
    ("minhas consultas" is "As minhas consultas"). Whole words only ("tune" is not "Tune-up", "bas"
    not "Basic", "tarde noche" not "Tarde-noche"), never a number (a number is a position or
    nothing), and only when no other title begins so: "no" answers "No, go back" but neither
    of "No, keep it" and "No, move it"."""
    if loose.isdecimal():
        return None
    # More words than any title has (a sentence, a pasted text): none begins so, and the
    # words of a long text are not worth splitting (`loose` has its blanks run together).
    if loose.count(" ") >= max((len(_title_words(o.title)) for o in options), default=0):
        return None
    typed = _words(loose)
    if not typed:
        return None
    size = len(typed)
    found = [
        option
        for option in options
        if _title_words(option.title)[:size] == typed
        or _words_after_article(option.title)[:size] == typed
    ]
    return found[0] if len(found) == 1 else None


#: Articles a title may start with, folded, in the platform's languages (en, es, pt, fr, de,
#: it, ca): a contact answering "As minhas consultas" types "minhas consultas", and "Le menu
#: du jour" "menu du jour". Elided ones ("l'agenda") are glued to their word: left as typed.
_ARTICLES = frozenset(
    {
        *("the", "a", "an"),
        *("el", "la", "los", "las", "un", "una", "els"),
        *("o", "os", "as", "um", "uma"),
        *("le", "les", "une", "il", "lo", "i", "gli"),
        *("der", "die", "das", "ein", "eine"),
    }
)


@lru_cache(maxsize=4096)
def _words_after_article(title: str) -> tuple[str, ...]:
    """The words of a title after the article it starts with, () when it starts with none
    (nor has words after it)."""
    words = _title_words(title)
    return words[1:] if len(words) > 1 and words[0] in _ARTICLES else ()


def _by_typo(loose: str, options: tuple[Option, ...]) -> Option | None:
    """The one option whose title, or its first words, `loose` is with a typo: "reshcedule" is
    "Reschedule", "hiarcut" "Haircut", "Manicur" "Manicure" (`typed_typos` has the rules: long
    words only, no numbers, no real word, no confirmation, one option and no other). Tried
    last, when every exact reading found nothing."""
    if loose.isdecimal():
        return None
    # As in `_by_first_words`: no title has so many words. Nor so many letters, once a typo's
    # letters in each word are allowed for: a pasted text (4,096 characters in one word) is
    # not compared at all.
    blanks = loose.count(" ")
    if blanks >= max((len(_title_words(o.title)) for o in options), default=0):
        return None
    longest = max((len(_loose_title(o.title)) for o in options), default=0)
    if len(loose) > longest + MOST_EDITS * (blanks + 1):
        return None
    typed = _words(loose)
    position = closest_by_typo(typed, [_title_words(o.title) for o in options])
    after = [_words_after_article(o.title) for o in options]
    if position is None and any(after):  # "limpeza" for "La limpieza dental"
        titles = [words or _title_words(o.title) for words, o in zip(after, options, strict=True)]
        position = closest_by_typo(typed, titles)
    return None if position is None else options[position]


def _words(loose: str) -> tuple[str, ...]:
    """The words of a loose text, each without the punctuation at its ends ("yes," -> "yes");
    an emoji between words stays one ("pedir 📅 cita" is not "Pedir cita")."""
    return tuple(_loose(part) or part for part in loose.split())


#: A slash between letters parts two words of a title ("Verschieben/Absagen"), not a date's.
_WORD_SLASH = re.compile(r"(?<=[^\W\d])/(?=[^\W\d])")


@lru_cache(maxsize=4096)
def _title_words(title: str) -> tuple[str, ...]:
    """`_words` of an option's title, once per title (see `_folded_title`); a slash between
    letters parts words, so "Verschieben" picks "Verschieben/Absagen" as a first word."""
    return _words(_WORD_SLASH.sub(" ", _loose_title(title)))


def _by_time(folded: str, options: tuple[Option, ...]) -> Option | None:
    """The one option whose title is the time typed: "5pm", "17h", "at 5" and "17.00" are
    "17:00" (`typed_times`). An hour without am/pm that options give twice ("at 5" with
    "05:00" and "17:00") picks neither, as do two options of the same time."""
    times = [title_time(_loose_title(option.title)) for option in options]  # (cached)
    # Only lists of times read a typed time: reading one costs a few microseconds, which every
    # other menu's unmatched text would pay for nothing.
    if not any(times):
        return None
    wanted = time_candidates(folded)
    if not wanted:
        return None
    found = [option for option, at in zip(options, times, strict=True) if at in wanted]
    return found[0] if len(found) == 1 else None


def _by_day(folded: str, options: tuple[Option, ...], today: date) -> Option | None:
    """The one option that is the day typed: "tomorrow", "el viernes", "next monday", "10/5",
    "10 May" (`typed_days`, whose rule says which options are days). A weekday that options
    give twice (two Fridays listed) picks the nearer from today on, as a receptionist hears
    "friday" (the date is on the confirmation the flow shows); a day not listed picks nothing."""
    days = [(option, day) for option in options if (day := option_day(option.id, option.title))]
    if not days:
        return None
    wanted = typed_day(folded, today)
    if wanted is None:
        return None
    found = [(option, day) for option, day in days if wanted.accepts(day)]
    if len(found) == 1:
        return found[0][0]
    if wanted.weekday is None or wanted.day is not None or wanted.on is not None:
        return None
    upcoming = sorted((day, index) for index, (_, day) in enumerate(found) if day >= today)
    if not upcoming or (len(upcoming) > 1 and upcoming[1][0] == upcoming[0][0]):
        return None  # none from today on, or the nearest listed twice: not one option
    return found[upcoming[0][1]][0]


def as_option_choice(
    message: InboundMessage,
    options: tuple[Option, ...],
    *,
    from_list: bool = False,
    today: date | None = None,
) -> InboundMessage:
    """A text reply "2" or an option's title, after options were shown, becomes that choice:
    a list reply if the options were the rows of a list (`from_list`), else a button reply.
    The number is tried first, then the title (`_by_title`: case, accents, and emoji or
    punctuation at the ends ignored; then a title's first words, then a typed time for a
    title that is one, then a typed day for an option that is one, and last a title typed
    with a typo; only a title one option has). `today` is the turn's date in the tenant's
    zone ("tomorrow" is the day after it); without it no day is read.

    This is what makes degraded menus (numbered text) work like real buttons and lists.

    An option a channel sent by position (`#opt2.<fingerprint>`, its id too long) arrives as
    the typed "2" with the fingerprint of its menu in `extra`: see `_pressed_by_position`.
    """
    if message.type is not MessageType.TEXT:
        return _titled(message, options, from_list) if options and message.payload else message
    if message.extra and OPTION_MENU in message.extra:
        pressed = _pressed_by_position(message, options, from_list)
        if pressed is not None:
            return pressed
    if not options:
        return message
    answer = message.text.strip().rstrip(".)")
    chosen: Option | None = None
    # isdecimal, not isdigit: "²" is a digit that int() rejects. A position has at most three
    # digits, none of them a leading zero: four are a time ("0030", "0930": 30 and 930 are no
    # positions), and "09" or "030" on a list of times would book 04:00 or 14:30 for a contact
    # who meant 9 o'clock or 00:30 (nothing picked, the state asks again). The cap keeps int()
    # away from its 4300-digit limit (a ValueError) and from pointless work.
    if (
        answer.isdecimal()
        and len(answer) <= 3
        and not answer.startswith("0")
        and 1 <= int(answer) <= len(options)
    ):
        chosen = options[int(answer) - 1]
    else:
        chosen = _by_title(message.text, options, today)
    if chosen is None:
        # An option's id typed stays that typed payload (`_by_title`), but it names the option.
        typed = message.text.strip()
        named = next((option for option in options if option.id == typed), None)
        return message if named is None else replace(message, option_title=named.title)
    return _chose(message, chosen, from_list)


def _chose(message: InboundMessage, chosen: Option, from_list: bool) -> InboundMessage:
    kind = MessageType.LIST_REPLY if from_list else MessageType.BUTTON_REPLY
    return replace(message, type=kind, payload=chosen.id, option_title=chosen.title)


def _titled(
    message: InboundMessage, options: tuple[Option, ...], from_list: bool
) -> InboundMessage:
    """A press of one of `options` gets its title as `option_title`. One that came without its
    label (Telegram, when the message holding the keyboard is gone or inline) gets it as its
    text too, so `{{ message.text }}` reads "Booked, Haircut!" and not "Booked, !".

    Its type is what the flow showed, not how the channel drew it: WhatsApp sends buttons it
    cannot draw (more than three, a title it would cut) as a list, and Telegram draws a list's
    rows as buttons, so `on_type: button` after `send_interactive_buttons` (and `list` after
    `send_interactive_list`) matches a press on every channel, as it matches a typed choice."""
    if message.type is not MessageType.BUTTON_REPLY and message.type is not MessageType.LIST_REPLY:
        return message
    chosen = next((o for o in options if o.id == message.payload), None)
    if chosen is None:
        return message
    return replace(_chose(message, chosen, from_list), text=message.text or chosen.title)


def _pressed_by_position(
    message: InboundMessage, options: tuple[Option, ...], from_list: bool
) -> InboundMessage | None:
    """A press of the option at a position of the menu whose fingerprint `extra` carries.

    It is that option when the menu is the one last shown (`options`). A press of an older
    menu (a slot list from yesterday, a menu shown earlier in the same turn) is no option of
    the current one: it is marked `STALE_MENU`, which no transition matches, so the state's
    fallback answers (usually with the current menu) and nothing is chosen by mistake.
    The check is done only here, O(options), for such presses.

    None when the text is not a bare position (texts merged by `debounce_ms`, the press
    last): it is read as any other text.
    """
    answer = message.text.strip()
    if not (answer.isdecimal() and len(answer) <= 6):
        return None
    position = int(answer)
    fingerprint = message.extra[OPTION_MENU]
    if (
        1 <= position <= len(options)
        and isinstance(fingerprint, str)
        and fingerprint == options_fingerprint(options)
    ):
        chosen = options[position - 1]
        # The press's text is its label, as for a button that fitted (not the position "2").
        return replace(_chose(message, chosen, from_list), text=chosen.title)
    return replace(message, extra={**message.extra, STALE_MENU: True})


def suffix_of(transition: Transition, message: InboundMessage) -> str | None:
    prefix = transition.on_payload_prefix
    if prefix is None:
        return None
    payload = effective_payload(message)
    if payload.startswith(prefix) and len(payload) > len(prefix):
        return payload[len(prefix) :]
    return None


def matches(
    transition: Transition, message: InboundMessage, renderer: Renderer, where: str
) -> bool:
    """Every trigger present must match, then the condition must hold. A press of a stale
    menu (`STALE_MENU`, see `as_option_choice`) matches nothing."""
    if message.extra and STALE_MENU in message.extra:
        return False
    if transition.on_payload is not None and effective_payload(message) != transition.on_payload:
        return False
    if transition.on_payload_prefix is not None and suffix_of(transition, message) is None:
        return False
    if transition.on_type is not None and MessageType.parse(transition.on_type) is not message.type:
        return False
    if transition.condition is not None:
        return renderer.condition(transition.condition, f"{where}.condition")
    return True
