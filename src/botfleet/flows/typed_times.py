"""A time of day as contacts type it ("5pm", "17h", "at 5", "17.30", "a las 9 y media",
"halb 10", "9 de la noche", "2130"), read against options whose titles are times ("17:00",
the calendar's slots). Pure functions.

Without it, a list of times answered "5pm" is "I didn't understand": the contact is asked to
type "17:00" or a position, which nobody guesses.

The words are those of the platform's languages (en, es, pt, fr, de, it, ca), all at once and
folded (lower case, no accents: `matching._fold`), as in `typed_days`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from types import MappingProxyType

__all__ = ["time_candidates", "title_time"]


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation of table keys, the longest first: "a las" is tried before "a"."""
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


#: Words said before a time, each with the languages it is a word of (which a number written
#: as a word must share: "at once" is English, not "at 11" with the Spanish "once"):
#: "at 5", "a las 5", "às 5", "à 5h", "um 5", "alle 5", "a les 5", "las 21", "le 9"...
_BEFORE = MappingProxyType(
    {
        **dict.fromkeys(("at", "around", "about"), frozenset({"en"})),
        **dict.fromkeys(
            ("a las", "sobre las", "hacia las", "a eso de las", "las"), frozenset({"es"})
        ),
        **dict.fromkeys(("a la", "la"), frozenset({"es", "ca"})),
        "as": frozenset({"pt"}),
        "a": frozenset({"es", "pt", "fr", "ca", "it"}),
        "vers": frozenset({"fr"}),
        **dict.fromkeys(("um", "gegen"), frozenset({"de"})),
        **dict.fromkeys(("alle", "alle ore", "ore", "le", "verso le"), frozenset({"it"})),
        **dict.fromkeys(("a les", "cap a les", "les"), frozenset({"ca"})),
    }
)
#: Italian's article glued to "una": "all'una", "l'una".
_GLUED = frozenset({"all'", "l'"})
#: "la 1", "la una", "l'una": the singular article is only said of one o'clock; "la 5" is the
#: fifth option, not a time.
_ONE_ONLY = frozenset({"la", "all'", "l'"})

#: Words said after one: "5pm", "5 p.m.", "17h", "17 hs", "5 uhr", "5 o'clock", "17 horas".
_AFTER = (
    r"(?P<after>am|pm|a\.?m\.?|p\.?m\.?|h|hs|hr|hrs|horas|hora|heures|heure|hores|uhr|o'?clock)"
)
_UNIT_LANGUAGES = MappingProxyType(
    {
        "horas": frozenset({"es", "pt"}),
        "hora": frozenset({"es", "pt"}),
        "heures": frozenset({"fr"}),
        "heure": frozenset({"fr"}),
        "hores": frozenset({"ca"}),
        "uhr": frozenset({"de"}),
        "o'clock": frozenset({"en"}),
        "oclock": frozenset({"en"}),
    }
)
_MERIDIEM = r"(?P<meridiem>am|pm|a\.?m\.?|p\.?m\.?)"


def _numbers(rows: dict[str, str]) -> MappingProxyType[str, tuple[int, frozenset[str]]]:
    """Hour words by language, one to twelve in order, spellings of one hour split by "/"."""
    table: dict[str, tuple[int, frozenset[str]]] = {}
    for language, line in rows.items():
        for hour, spellings in enumerate(line.split(), start=1):
            for word in spellings.split("/"):
                _, languages = table.get(word, (hour, frozenset()))
                table[word] = (hour, languages | {language})
    return MappingProxyType(table)


#: One to twelve as the hour is said (the feminine "una", "uma", "une", "duas", "dues": "la
#: hora"); only with another word of a time ("a las nueve", "nine pm", "nueve y media"): a bare
#: "nueve" is no time, as a bare "9" is a position.
_HOUR_WORDS = _numbers(
    {
        "en": "one two three four five six seven eight nine ten eleven twelve",
        "es": "una dos tres cuatro cinco seis siete ocho nueve diez once doce",
        "pt": "uma duas tres quatro cinco seis sete oito nove dez onze doze",
        "fr": "une deux trois quatre cinq six sept huit neuf dix onze douze",
        "de": "ein/eins zwei drei vier funf/fuenf sechs sieben acht neun zehn elf zwolf/zwoelf",
        "it": "una due tre quattro cinque sei sette otto nove dieci undici dodici",
        "ca": "una dues tres quatre cinc sis set vuit nou deu onze dotze",
    }
)
#: Said before the hour, minutes from it: "half past 9", "quarter to 10". German "halb 10" is
#: 9:30, half an hour *before* 10 (not 10:30, as an English reader would guess); "viertel vor
#: 10" is 9:45. The regional "viertel 10" and "dreiviertel 10" (9:15, 9:45) are not read:
#: German speakers elsewhere do not say them, and a slip of one hour would book the wrong slot.
_PREFIX = MappingProxyType(
    {
        "half past": (30, frozenset({"en"})),
        **dict.fromkeys(
            ("quarter past", "a quarter past", "quarter after", "a quarter after"),
            (15, frozenset({"en"})),
        ),
        **dict.fromkeys(
            ("quarter to", "a quarter to", "quarter of", "a quarter of"), (-15, frozenset({"en"}))
        ),
        "halb": (-30, frozenset({"de"})),
        "viertel nach": (15, frozenset({"de"})),
        "viertel vor": (-15, frozenset({"de"})),
    }
)
#: Said after the hour: "9 y media", "10 menos cuarto" (9:45), "9 et quart", "9 and a half".
#: Not the minute words ("9 y diez", "nine thirty"): a slot list is every half or quarter hour.
_SUFFIX = MappingProxyType(
    {
        "y media": (30, frozenset({"es"})),
        "y cuarto": (15, frozenset({"es"})),
        "menos cuarto": (-15, frozenset({"es"})),
        "e meia": (30, frozenset({"pt"})),
        "e um quarto": (15, frozenset({"pt"})),
        "e quinze": (15, frozenset({"pt"})),
        "menos um quarto": (-15, frozenset({"pt"})),
        "menos quinze": (-15, frozenset({"pt"})),
        "et demie": (30, frozenset({"fr"})),
        "et demi": (30, frozenset({"fr"})),  # a common misspelling
        "et quart": (15, frozenset({"fr"})),
        "moins le quart": (-15, frozenset({"fr"})),
        "moins quart": (-15, frozenset({"fr"})),
        "and a half": (30, frozenset({"en"})),
        "e mezza": (30, frozenset({"it"})),
        "e mezzo": (30, frozenset({"it"})),
        "e un quarto": (15, frozenset({"it"})),
        "e tre quarti": (45, frozenset({"it"})),
        "meno un quarto": (-15, frozenset({"it"})),
        "i mitja": (30, frozenset({"ca"})),
        "i quart": (15, frozenset({"ca"})),
        "menys quart": (-15, frozenset({"ca"})),
    }
)

#: The hours (0-23) a part of the day allows, which settle an hour from 1 to 12 as am/pm do.
_AM = frozenset(range(12))
_PM = frozenset(range(12, 24))
_MORNING = frozenset(range(1, 12))  # "12 de la mañana" is noon to some, midnight to others
_EARLY = frozenset(range(7))  # "de la madrugada": "las 12 de la madrugada" is 00:00
_AFTERNOON = frozenset(range(12, 24))  # "1 de la tarde" is 13:00, "12 de la tarde" noon
_EVENING = frozenset(range(13, 24))
#: "De la noche" is said of the evening and of the small hours alike: 8-11 is 20:00-23:00, 12
#: is midnight (00:00), 1-5 the hours after it ("las 3 de la noche" is 03:00), 6-7 18:00-19:00.
_NIGHT = frozenset(range(6)) | frozenset(range(18, 24))


def _parts(
    rows: dict[frozenset[int], dict[str, str]],
) -> MappingProxyType[str, tuple[frozenset[int], frozenset[str]]]:
    """Parts of the day by the hours they allow, then by language, comma-separated."""
    table: dict[str, tuple[frozenset[int], frozenset[str]]] = {}
    for hours, by_language in rows.items():
        for language, words in by_language.items():
            for said in words.split(","):
                word = said.strip()
                _, languages = table.get(word, (hours, frozenset()))
                table[word] = (hours, languages | {language})
    return MappingProxyType(table)


#: Parts of the day, before or after the time: "9 de la noche", "tonight at 9", "9 uhr
#: abends", "stasera alle 9". Hyphens are read as blanks ("apres midi").
_PART = _parts(
    {
        _MORNING: {
            "es": "de la manana, por la manana, en la manana, esta manana",
            "pt": "da manha, de manha, pela manha, esta manha",
            "fr": "du matin, ce matin",
            "en": "in the morning, this morning",
            "de": "morgens, vormittags, fruh, am morgen, heute morgen, heute fruh",
            "it": "di mattina, della mattina, del mattino, di mattino, stamattina",
            "ca": "del mati, al mati, aquest mati",
        },
        _EARLY: {
            "es": "de la madrugada",
            "pt": "da madrugada",
            "ca": "de la matinada",
        },
        _AFTERNOON: {
            "es": "de la tarde, por la tarde, en la tarde, esta tarde",
            "pt": "da tarde, de tarde, a tarde, pela tarde, esta tarde",
            "fr": "de l'apres midi, l'apres midi, cet apres midi",
            "en": "in the afternoon, this afternoon",
            "de": "nachmittags, am nachmittag, heute nachmittag",
            "it": "del pomeriggio, di pomeriggio, nel pomeriggio, oggi pomeriggio",
            "ca": "de la tarda, a la tarda, aquesta tarda",
        },
        _EVENING: {
            "fr": "du soir, ce soir",
            "en": "in the evening, this evening",
            "de": "abends, am abend, heute abend",
            "it": "di sera, della sera, stasera",
            "ca": "del vespre, al vespre, aquest vespre",
        },
        _NIGHT: {
            "es": "de la noche, por la noche, en la noche, esta noche",
            "pt": "da noite, de noite, a noite, esta noite, hoje a noite",
            "en": "tonight, at night",
            "de": "nachts, in der nacht",
            "it": "di notte, della notte, stanotte",
            "ca": "de la nit, a la nit, aquesta nit",
        },
    }
)

_TYPED = re.compile(
    rf"(?:(?P<part_before>{_alternatives(_PART)}) )?"
    # Not "a" of "a quarter past": that "a" is the English article, not "at".
    rf"(?:(?P<before>{_alternatives(_BEFORE)}) (?!quarter)|(?P<glued>{_alternatives(_GLUED)}) ?)?"
    rf"(?:(?P<prefix>{_alternatives(_PREFIX)}) )?"
    r"(?:(?P<compact>\d{3,4})"
    r"|(?P<hour>\d{1,2})(?:(?: ?[:.h] ?| )(?P<minute>\d{2}))?"
    rf"|(?P<word>{_alternatives(_HOUR_WORDS)}))"
    rf"(?: ?{_AFTER})?"
    rf"(?: (?P<suffix>{_alternatives(_SUFFIX)}))?"
    rf"(?: ?{_MERIDIEM})?"
    rf"(?: (?P<part_after>{_alternatives(_PART)}))?"
    r"\.?"
)
_WORD_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
#: Longer text is no typed time, and is kept from the expression's backtracking over blanks.
_MAX_LENGTH = 40
#: A title that is only a time: "17:00", "9:30", "17.00", "17h00", "17h".
_TITLE = re.compile(r"(?P<hour>\d{1,2})(?:[:.h](?P<minute>\d{2})|h)")


def time_candidates(folded: str) -> frozenset[tuple[int, int]]:
    """The (hour, minute) pairs a typed text can mean, empty when it is no time.

    A bare number ("5", "nueve") is not a time: it is a position in the menu, or nothing; four
    digits ("2130", "0930", "0030") are one, as no menu is that long. Without am/pm or a part of
    the day ("de la tarde", "abends"), an hour from 1 to 12 is both ("at 5" is 05:00 or 17:00:
    the options say which), unless written with a leading zero ("09:30", "0930": 09:30 only).
    """
    text = folded.strip()
    if len(text) > _MAX_LENGTH:
        return frozenset()
    # Phones type ’ for ', and "après-midi" comes with or without its hyphen (one between
    # digits stays: "9-10" is a range, not 9:10); one blank between words keeps the
    # expression from trying every split of a run of them.
    text = _WORD_HYPHEN.sub(" ", text.replace("’", "'"))
    text = " ".join(text.split()).replace("' ", "'")
    found = _TYPED.fullmatch(text)
    if found is None or not _said_as_a_time(found) or not _one_language(found):
        return frozenset()
    named = _named_hour(found)
    if named is None:
        return frozenset()
    hour, minute = named
    hours = _hours(found, hour)
    return frozenset(divmod((h * 60 + minute) % (24 * 60), 60) for h in hours)


def _said_as_a_time(found: re.Match[str]) -> bool:
    """Whether more than a bare number was typed, and its words go together."""
    before = found["before"] or found["glued"]
    fraction = found["prefix"] or found["suffix"]
    if (
        (found["part_before"] and found["part_after"])
        or (_meridiem(found["after"]) and found["meridiem"])
        or (found["prefix"] and found["suffix"])
        or (fraction and (found["minute"] or found["compact"]))
        or (before in _ONE_ONLY and not _is_one(found))
        or (found["word"] and found["after"] and not _spelt_unit(found))
    ):
        return False
    marked = any(
        found[group]
        for group in ("after", "meridiem", "prefix", "suffix", "part_before", "part_after")
    )
    if found["compact"]:
        return len(found["compact"]) == 4 or bool(before) or marked
    return bool(before) or marked or found["minute"] is not None


def _meridiem(said: str | None) -> str | None:
    """The am/pm a unit says, however written ("p.m." is "pm"), else None ("h", "uhr")."""
    plain = (said or "").replace(".", "")
    return plain if plain in ("am", "pm") else None


def _spelt_unit(found: re.Match[str]) -> bool:
    """After an hour in words, a unit in words or am/pm, apart: "nine pm", "neun uhr"; not
    "seth" ("set", seven in Catalan, and "h"), a name."""
    apart = found.start("after") > found.end("word")
    return apart and (found["after"] in _UNIT_LANGUAGES or _meridiem(found["after"]) is not None)


def _is_one(found: re.Match[str]) -> bool:
    """Whether the hour said is one o'clock ("1", "una")."""
    if found["word"] is not None:
        return _HOUR_WORDS[found["word"]][0] == 1
    return found["hour"] is not None and int(found["hour"]) == 1


def _one_language(found: re.Match[str]) -> bool:
    """An hour written as a word shares a language with every other word typed with it."""
    word = found["word"]
    if word is None:
        return True
    spoken = _HOUR_WORDS[word][1]
    others = (
        _BEFORE.get(found["before"] or ""),
        frozenset({"it"}) if found["glued"] else None,
        _UNIT_LANGUAGES.get(found["after"] or ""),
        _PREFIX[found["prefix"]][1] if found["prefix"] else None,
        _SUFFIX[found["suffix"]][1] if found["suffix"] else None,
        _PART[found["part_before"]][1] if found["part_before"] else None,
        _PART[found["part_after"]][1] if found["part_after"] else None,
    )
    return all(languages is None or spoken & languages for languages in others)


def _named_hour(found: re.Match[str]) -> tuple[int, int] | None:
    """The hour said and the minutes from it (negative for "quarter to"), None if no time."""
    if found["compact"]:
        digits = found["compact"]
        hour, minute = int(digits[:-2]), int(digits[-2:])
    elif found["word"]:
        hour = _HOUR_WORDS[found["word"]][0]
        minute = 0
    else:
        hour, minute = int(found["hour"]), int(found["minute"] or 0)
    if hour > 23 or minute > 59:
        return None
    if found["prefix"]:
        minute = _PREFIX[found["prefix"]][0]
    elif found["suffix"]:
        minute = _SUFFIX[found["suffix"]][0]
    return hour, minute


def _hours(found: re.Match[str], hour: int) -> frozenset[int]:
    """The hours (0-23) an hour said can be, given what settles am or pm."""
    meridiem = _meridiem(found["meridiem"]) or _meridiem(found["after"])
    allowed = _AM if meridiem == "am" else _PM if meridiem == "pm" else None
    part = found["part_before"] or found["part_after"]
    if allowed is None and part is None:
        written = found["compact"][:-2] if found["compact"] else found["hour"]
        if written is not None and len(written) == 2 and written.startswith("0"):
            return frozenset({hour})  # "09:30", "0930": a 24-hour clock's morning, not 21:30
        return frozenset({hour, hour + 12}) if 1 <= hour <= 11 else frozenset({hour})
    if allowed is not None and not 1 <= hour <= 12:
        return frozenset()
    hours = frozenset({hour % 12, hour % 12 + 12}) if 1 <= hour <= 12 else frozenset({hour})
    if allowed is not None:
        hours &= allowed
    if part is not None:
        hours &= _PART[part][0]
    return hours


@lru_cache(maxsize=4096)
def title_time(folded_title: str) -> tuple[int, int] | None:
    """The time a title is, when it is only one ("17:00"), else None."""
    found = _TITLE.fullmatch(folded_title.strip())
    if found is None:
        return None
    hour, minute = int(found["hour"]), int(found["minute"] or 0)
    if hour > 23 or minute > 59:
        return None
    return hour, minute
