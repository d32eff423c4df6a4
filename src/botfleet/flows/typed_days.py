"""A day as contacts type it ("tomorrow", "el viernes", "next monday", "10/5", "10 May"), read
against options that are days (the calendar's day list). Pure functions: the turn's `today`
(the tenant's zone) is given, never read from a clock.

Without it, a list of days answered "tomorrow" or "viernes" is "I didn't understand": the
contact is asked to type "Fri 10 May" or a position, which nobody guesses.

An option is a day when its id is the calendar's (`day_YYYY-MM-DD`, the prefix of
`adapters/connectors/calendar/formatting.DAY_PREFIX`) or its title is a date written year first
(`2024-05-10`). A title such as "Fri 10 May" alone does not make a day: its words depend on the
language, and "10/05" in a title could be either order. Any other id is the flow's own and says
nothing (`day_off` is no date).

The words are those of the platform's languages (en, es, pt, fr, de, it, ca), all at once and
folded (lower case, no accents: `fold`): a contact may answer in another language
than the tenant's, and no word means a different day in two of them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from functools import lru_cache
from types import MappingProxyType
from typing import Final, Literal

from botfleet.flows.date_filter import nearest_date, next_date, no_such_date, read_date

__all__ = [
    "MONTH_WORDS",
    "NO_SUCH_DAY",
    "WEEKDAY_WORDS",
    "DayWanted",
    "NoSuchDay",
    "fold",
    "option_day",
    "read_typed_day",
    "typed_day",
]

#: The calendar connector's day ids: `day_2024-05-10`.
_DAY_ID = re.compile(r"day_(\d{4}-\d{2}-\d{2})")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Longer text is no day typed as an answer ("the one after the 10th, if it is free...").
_MAX_LENGTH = 40


def fold(text: str) -> str:
    """`text` as typed words are compared: lower case (casefold), accents dropped, blanks at
    the ends stripped."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


@dataclass(frozen=True, slots=True)
class DayWanted:
    """What a typed day asks for: a date (`on`), or a weekday (0 is Monday) with perhaps a
    day of the month ("viernes 10"), among the days listed."""

    on: date | None = None
    weekday: int | None = None
    day: int | None = None

    def accepts(self, day: date) -> bool:
        return (
            (self.on is None or day == self.on)
            and (self.weekday is None or day.weekday() == self.weekday)
            and (self.day is None or day.day == self.day)
        )


@lru_cache(maxsize=4096)
def option_day(option_id: str, title: str) -> date | None:
    """The date an option stands for (see the module's rule), else None; once per option, as
    the same list is answered turn after turn."""
    found = _DAY_ID.fullmatch(option_id)
    text = found[1] if found else title.strip()
    if not _ISO.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # day_2024-02-30: no day
        return None


def _table(rows: dict[int, str]) -> MappingProxyType[str, int]:
    return MappingProxyType({word: value for value, words in rows.items() for word in _set(words)})


def _set(words: str) -> frozenset[str]:
    """The blank-separated words of a table's line."""
    return frozenset(words.split())


#: Monday (0) to Sunday (6), folded, in the platform's languages, written out and abbreviated
#: as the calendar's day titles abbreviate them ("Sáb 12 dez", "Jeu. 10 mai": a contact types
#: what the list shows). Not "mar" (March as well as martes/mardi/martedì: "10 mar" is a
#: date) nor the two-letter German and Catalan ones ("so", "do", "mi" are words).
WEEKDAY_WORDS = _table(
    {
        0: "monday mon lunes lun segunda seg lundi montag lunedi dilluns",
        1: "tuesday tue tues martes terca ter mardi dienstag martedi dimarts",
        2: "wednesday wed miercoles mie quarta qua mercredi mer mittwoch mercoledi dimecres",
        3: "thursday thu thur thurs jueves jue quinta qui jeudi jeu donnerstag giovedi gio dijous",
        4: "friday fri viernes vie sexta sex vendredi ven freitag venerdi divendres",
        5: "saturday sat sabado sab samedi sam samstag sonnabend sabato dissabte",
        6: "sunday sun domingo dom dimanche dim sonntag domenica diumenge",
    }
)
#: January (1) to December (12), folded, written out and abbreviated (the calendar's titles'
#: abbreviations among them: "sept", "janv", "febr", "ag").
MONTH_WORDS = _table(
    {
        1: "january jan enero ene janeiro janvier janv januar janner gennaio gen gener",
        2: "february feb febrero fevereiro fev fevrier fevr februar febbraio febrer febr",
        3: "march mar marzo marco mars marz marc",
        4: "april apr abril abr avril avr aprile",
        5: "may mayo maio mai maggio mag maig",
        6: "june jun junio junho juin juni giugno giu juny",
        7: "july jul julio julho juillet juil juli luglio lug juliol",
        8: "august aug agosto ago aout agost ag",
        9: "september sep sept septiembre setiembre setembro set septembre settembre setembre",
        10: "october oct octubre outubro out octobre oktober okt ottobre ott",
        11: "november nov noviembre novembro novembre",
        12: "december dec diciembre dic dezembro dez decembre dezember dicembre desembre des",
    }
)
#: Days from today: "tomorrow", "pasado mañana", "après-demain" (hyphens read as blanks).
_RELATIVE = MappingProxyType(
    {
        **dict.fromkeys(
            ("today", "hoy", "hoje", "aujourd'hui", "aujourdhui", "heute", "oggi", "avui"), 0
        ),
        **dict.fromkeys(("tomorrow", "manana", "amanha", "demain", "morgen", "domani", "dema"), 1),
        **dict.fromkeys(
            (
                "day after tomorrow",
                "the day after tomorrow",
                "pasado manana",
                "depois de amanha",
                "apres demain",
                "ubermorgen",
                "dopodomani",
                "dema passat",
                "passat dema",
            ),
            2,
        ),
    }
)
#: Days before today, read only when a past day is asked for (`typed_day(past=True)`):
#: "ayer", "anteontem", "avant-hier".
_PAST_RELATIVE = MappingProxyType(
    {
        **dict.fromkeys(("yesterday", "ayer", "ontem", "hier", "gestern", "ieri", "ahir"), -1),
        **dict.fromkeys(
            (
                "day before yesterday",
                "the day before yesterday",
                "anteayer",
                "antes de ayer",
                "antier",
                "anteontem",
                "antes de ontem",
                "avant hier",
                "vorgestern",
                "l'altro ieri",
                "altro ieri",
                "ieri l'altro",
                "avantieri",
                "abans d'ahir",
            ),
            -2,
        ),
    }
)
#: Said before a relative day and left out: "for tomorrow", "para mañana", "pour demain".
_FOR = frozenset({"for", "para", "pour", "per", "fur"})
#: Articles, prepositions and the word "day" around a weekday or date, left out: "on Friday",
#: "el viernes", "na sexta-feira", "le vendredi", "am Freitag", "il venerdì", "the 10th of May",
#: "10 de mayo".
_FILLERS = _set(
    "on for the of day el la del de en dia para na no a o em feira le du pour jour am an den dem "
    "der tag il lo di per giorno que"
)
#: "this Friday": the first Friday from today on (today's, on a Friday).
_THIS = _set("this este esta neste nesta ce cette diesen dieser diese questo questa aquest aquesta")
#: "next Friday": the first Friday after today ("el viernes que viene", "sexta que vem").
_NEXT = _set(
    "next coming proximo proxima prochain prochaine nachsten nachster nachste kommenden "
    "kommender kommende prossimo prossima proper propera vinent viene vem ve"
)
#: "last Friday": the last Friday before today ("el viernes pasado", "sexta passada", "vendredi
#: dernier", "letzten Freitag", "venerdì scorso", "divendres passat"), read only when a past
#: day is asked for.
_LAST = _set(
    "last pasado pasada passado passada dernier derniere letzten letzter letzte vergangenen "
    "vergangener vergangene scorso scorsa passat"
)
#: Portuguese weekdays that are ordinals in Spanish and Italian ("la segunda", "la quinta" are
#: "the second one", "the fifth one"): a weekday only alone or with a word only Portuguese puts
#: there ("sexta-feira", "na quinta", "próxima segunda").
_ORDINAL_WEEKDAYS = frozenset({"segunda", "terca", "quarta", "quinta", "sexta"})
_PORTUGUESE_ONLY = frozenset(
    {"feira", "na", "nesta", "neste", "esta", "proxima", "vem", "passado", "passada"}
)
#: A day of the month: "10", "10th", "1st", "1er", "1º" (folded "1o"), "10." (German).
_ORDINAL = re.compile(r"(\d{1,2})(?:st|nd|rd|th|er|re|o|a|°|\.)?")
_YEAR = re.compile(r"\d{4}")
#: What is no part of a word at a word's ends: "viernes?", "mai.", "(friday)".
_PUNCTUATION = ".,;:!?¡¿()\"'"
_NOT_A_DOT = _PUNCTUATION.replace(".", "")
_NOT_AN_APOSTROPHE = _PUNCTUATION.replace("'", "")


#: Portuguese weekdays written with their number: "2ª feira" (Monday) to "6ª-feira" (Friday).
_NUMBERED_FEIRA = re.compile(r"\b([2-6])a?[ -]?feira\b")
_FEIRA_DAYS = {
    "2": "segunda-feira",
    "3": "terca-feira",
    "4": "quarta-feira",
    "5": "quinta-feira",
    "6": "sexta-feira",
}


@dataclass(slots=True)
class _Parts:
    """The pieces of a typed day, one of each at most."""

    weekday: int | None = None
    weekday_word: str = ""
    month: int | None = None
    day: int | None = None
    year: int | None = None
    on: date | None = None
    #: A date written in digits that no calendar has ("31/02"), said instead of `on`.
    no_such_day: bool = False
    modifier: str = ""  # "this", "next" or "last"
    words: frozenset[str] = frozenset()  # the fillers and modifiers said


class NoSuchDay(Enum):
    """What a text that writes a date no calendar has ("31 de febrero") asks for."""

    NO_SUCH_DAY = "no_such_day"


#: `read_typed_day`'s answer for "31 de febrero", "31/02", "30/2/2027", "lunes 10 de mayo" (10
#: May a Friday): a date written with its day (1-31) and month, which is none.
NO_SUCH_DAY: Final = NoSuchDay.NO_SUCH_DAY


def typed_day(folded: str, today: date, *, past: bool = False) -> DayWanted | None:
    """What a folded text asks for among a list of days, None when it is no day.

    "tomorrow" and "pasado mañana" are days from `today`; "10/5", "10 May", "10 de mayo" a date
    (`date_filter.read_date`: day before month, without a year the first such day from today
    on); "friday", "el viernes", "am Freitag" any listed Friday; "this friday" the first Friday
    from today on, "next friday" the first after today; "friday 10 may" the date, if it is a
    Friday. Never a bare number ("10", "el 10"): a number is a position or nothing.

    With `past`, days before today too: "yesterday", "anteayer" and "last friday" ("el viernes
    pasado": the last Friday before today), and a date without a year is the nearest such day,
    before or after today (`date_filter.nearest_date`: "1/12" typed on 7 December is six days
    ago).
    """
    found = read_typed_day(folded, today, past=past)
    return found if isinstance(found, DayWanted) else None


def read_typed_day(
    folded: str, today: date, *, past: bool = False
) -> DayWanted | Literal[NoSuchDay.NO_SUCH_DAY] | None:
    """`typed_day`, and `NO_SUCH_DAY` where a date is written that no calendar has: a day of
    the month (1-31) and a month without it, in words or digits ("31 de febrero", "31/02",
    "30/2/2027"), or with a weekday it is not ("monday 10 may", 10 May a Friday)."""
    text = folded.replace("\u2019", "'").replace("\u2018", "'").strip(" \t\n" + _PUNCTUATION)
    if not text or len(text) > _MAX_LENGTH:
        return None
    if "feira" in text:  # "3ª feira" (folded "3a feira") is "terça-feira"
        text = _NUMBERED_FEIRA.sub(lambda found: _FEIRA_DAYS[found[1]], text)
    tokens = _tokens(text)
    relative = _relative(tokens, past)
    if relative is not None:
        return DayWanted(on=today + timedelta(days=relative))
    parts = _parse(tokens, today, past)
    return None if parts is None else _wanted(parts, today, past)


def _tokens(text: str) -> list[str]:
    """Blank-separated words; a word's hyphens are blanks ("sexta-feira", "après-demain"), a
    date's are not ("10-5")."""
    tokens: list[str] = []
    for raw in text.replace(",", " ").split():
        if any(char.isalpha() for char in raw) and not raw[:1].isdigit():
            tokens.extend(part for part in raw.split("-") if part)
        else:
            tokens.append(raw)
    return tokens


def _relative(tokens: list[str], past: bool) -> int | None:
    words = [token.strip(_NOT_AN_APOSTROPHE) for token in tokens]
    if len(words) > 1 and words[0] in _FOR:
        words = words[1:]
    said = " ".join(words)
    found = _RELATIVE.get(said)
    return _PAST_RELATIVE.get(said) if found is None and past else found


def _parse(tokens: list[str], today: date, past: bool) -> _Parts | None:
    """The tokens as pieces of a day, None when one is no such piece or comes twice."""
    parts = _Parts()
    said: set[str] = set()
    for token in tokens:
        word = _unprefixed(token.strip(_PUNCTUATION))
        if not word:
            continue
        if word in _FILLERS or word in _THIS or word in _NEXT or word in _LAST:
            said.add(word)
        elif not _take(parts, word, _unprefixed(token.strip(_NOT_A_DOT)), today, past):
            return None
    parts.words = frozenset(said)
    modifiers = [
        name for name, words in (("next", _NEXT), ("last", _LAST), ("this", _THIS)) if said & words
    ]
    if len(modifiers) > 1 and modifiers != ["next", "this"]:  # "this next friday": next
        return None  # "next friday last": no day
    parts.modifier = modifiers[0] if modifiers else ""
    return parts


def _unprefixed(word: str) -> str:
    """A word without the elided article before it: "d'abril", "l'11 maggio"."""
    return word[2:] if word.startswith(("d'", "l'")) else word


def _take(parts: _Parts, word: str, number: str, today: date, past: bool) -> bool:
    """`parts` with the piece `word` is (`number`: the word with a dot at its end kept, "10."),
    False when it is none, or one already said."""
    if word in WEEKDAY_WORDS:
        if parts.weekday is not None:
            return False
        parts.weekday, parts.weekday_word = WEEKDAY_WORDS[word], word
    elif word in MONTH_WORDS:
        if parts.month is not None:
            return False
        parts.month = MONTH_WORDS[word]
    elif (day := _ORDINAL.fullmatch(number)) is not None:
        if parts.day is not None or not 1 <= int(day[1]) <= 31:
            return False
        parts.day = int(day[1])
    elif _YEAR.fullmatch(word):
        if parts.year is not None:
            return False
        parts.year = int(word)
    else:
        if parts.on is not None or parts.no_such_day:
            return False
        written = read_date(word, today, past=past)
        if written is None:
            # "31/02": a date no calendar has, which `_wanted` tells from no date at all
            parts.no_such_day = no_such_date(word, today, past=past)
            return parts.no_such_day
        parts.on = written
    return True


def _wanted(
    parts: _Parts, today: date, past: bool
) -> DayWanted | Literal[NoSuchDay.NO_SUCH_DAY] | None:
    """The day the pieces make, None when they make none or disagree, `NO_SUCH_DAY` when they
    write a date that is none."""
    if (
        parts.weekday_word in _ORDINAL_WEEKDAYS
        and parts.words
        and not parts.words & _PORTUGUESE_ONLY
        # "sexta dia 10": a weekday with its day of the month, which no ordinal has
        and not (parts.day is not None and parts.words == {"dia"})
    ):
        return None  # "la segunda": the second one, not Monday
    if parts.modifier == "last" and not past:
        return None
    on = _date_of(parts, today, past)
    if on is _NO_DAY:
        return None
    weekday = parts.weekday
    if on is _NO_SUCH_DAY:
        return None if parts.modifier else NO_SUCH_DAY
    if on is not None:
        if parts.modifier:
            return None
        if weekday is not None and on.weekday() != weekday:
            return NO_SUCH_DAY  # "monday 10 may", 10 May a Friday
        return DayWanted(on=on)
    if weekday is None:  # "el 10": a number, however said
        return None
    if parts.modifier:
        if parts.day is not None:
            return None
        if parts.modifier == "last":
            return DayWanted(on=today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1))
        start = today + timedelta(days=1 if parts.modifier == "next" else 0)
        return DayWanted(on=start + timedelta(days=(weekday - start.weekday()) % 7))
    return DayWanted(weekday=weekday, day=parts.day)


#: What `_date_of` gives for pieces that make no date though they say one ("10 2024"). Both
#: are told by identity, never by value.
_NO_DAY = date.min
#: What `_date_of` gives for pieces that write a date no calendar has ("31 June", "31/02").
_NO_SUCH_DAY = date.max


def _date_of(parts: _Parts, today: date, past: bool) -> date | None:
    """The date the pieces write ("10/5", "10 May", "10 May 2025"), None when they write none
    ("friday"), `_NO_DAY` when they write one wrong (a day without its month, two dates),
    `_NO_SUCH_DAY` when they write one no calendar has ("31 June", "31/02")."""
    if parts.on is not None or parts.no_such_day:
        if parts.month is not None or parts.day is not None or parts.year is not None:
            return _NO_DAY
        return _NO_SUCH_DAY if parts.on is None else parts.on
    if parts.month is None:
        return _NO_DAY if parts.year is not None else None
    if parts.day is None:
        return _NO_DAY
    if parts.year is not None:
        found = _real_date(parts.year, parts.month, parts.day)
    elif past:
        found = nearest_date(parts.month, parts.day, today)
    else:
        found = next_date(parts.month, parts.day, today)
    return _NO_SUCH_DAY if found is None else found


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
