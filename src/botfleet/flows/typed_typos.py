"""A title typed with a typo ("reshcedule" for "Reschedule", "hiarcut" for "Haircut", "Manicur"
for "Manicure"), read against the titles of the options shown. Pure functions.

This is the last step of `matching._by_title`, tried only when every exact reading found
nothing, and a careful one: a wrong pick is an action the contact did not ask for (a booking, a
cancellation), while no pick costs one more message (the state's fallback or the LLM asks
again). So a typo is read only when it can mean one option and nothing else:

- word by word, the words typed against the first as many words of each title (as the
  first-words step reads them), each word the same or a typo of the title's;
- a typo only between words of at least `MIN_LETTERS` letters (both the typed word and the
  title's), without digits, at most one edit apart (a letter added, left out, changed, or two
  neighbours swapped), two when both words have `LONG_WORD` letters or more. Shorter words have
  too many real words one letter away ("done" and "dont", "book" and "look", "juni" and
  "juli"); "no", "ok", "si" never are typos;
- never a typed word that is a real word the bot knows: a word of any option's title ("move"
  is not a typo of "Mode" when "Move" is also shown), a yes or no ("claro" is not "Clara"),
  a weekday or a month ("julio" is not "Junio") in the platform's languages;
- never on a confirmation (options beginning with a yes and a no, "Yes, cancel it" and "No,
  keep it"): there the exact answers are what counts, and a misread cancels what the contact
  kept;
- never an option that undoes something (a title with "cancel", "delete", "anular",
  "stornieren"...: `_UNDOING`): real words sit a typo away from them ("cancer", "candle",
  "anual"), and a cancellation read from one is worse than asking again;
- only when one option, and only one, is that close: two (a typo of "Cancel" with "Cancel it"
  and "Cancel all") pick neither.
"""

from __future__ import annotations

from collections.abc import Sequence

from botfleet.flows.typed_days import MONTH_WORDS, WEEKDAY_WORDS

__all__ = [
    "LONG_WORD",
    "MIN_LETTERS",
    "MOST_EDITS",
    "closest_by_typo",
    "is_confirmation",
    "osa_distance",
    "typo_bound",
]

#: The fewest letters a word has for a typo to be read in it (typed, and the title's).
MIN_LETTERS = 5
#: From this many letters (both words), two edits are a typo; below it, one.
LONG_WORD = 8
#: The most edits a typo is, in a long word: a typed word is at most so many letters longer
#: than the title's.
MOST_EDITS = 2


def _set(words: str) -> frozenset[str]:
    """The blank-separated words of a line."""
    return frozenset(words.split())


#: Yes and no in the platform's languages (en, es, pt, fr, de, it, ca), folded (lower case,
#: no accents). A typed one is an answer, never a typo; titles beginning with both make a
#: confirmation.
_YES = _set(
    "yes yeah yep yup ok okay sure si sim oui ja jawohl vale claro certo dacord d'accord genau "
    "esatto exacto exato correct correcto"
)
_NO = _set("no nope nah non nao nein nee never nunca jamais not dont don't")
#: Words of titles that undo something, folded, in the platform's languages: an option whose
#: title has one is picked by its exact words only, never by a typo.
_UNDOING = _set(
    "cancel cancelar cancela cancelo anular anula annuler annule annulla annullare cancella "
    "cancellare stornieren storniere stornierung absagen delete remove borrar eliminar elimina "
    "supprimer supprime loschen entfernen apagar excluir esborrar unsubscribe baja desuscribir "
    "desinscrire abmelden cancel·lar cancel·la anul·lar anul·la cancellar anullar donar-se"
)
#: Words that are words, not typos, whatever the options: a yes, a no, a weekday, a month.
#: The day words are `typed_days`' own tables, so the two steps agree on what a day is.
_REAL_WORDS = _YES | _NO | frozenset(WEEKDAY_WORDS) | frozenset(MONTH_WORDS)


def typo_bound(typed: str, title: str) -> int:
    """How many edits apart `typed` may be from the title's word `title` and still be a typo
    of it: 0 (only the word itself) for a short word or one with a digit, else 1, or 2 for
    long words."""
    shorter = min(len(typed), len(title))
    if shorter < MIN_LETTERS or _has_digit(typed) or _has_digit(title):
        return 0
    return MOST_EDITS if shorter >= LONG_WORD else 1


def _has_digit(word: str) -> bool:
    return any(char.isdigit() for char in word)


def osa_distance(first: str, second: str, bound: int) -> int:
    """The optimal string alignment distance of two words (Damerau-Levenshtein where two
    swapped neighbours are one edit, "hiarcut" and "haircut"), or `bound + 1` when it is more
    than `bound`.

    Written here rather than taken from a library (none is a dependency) as it is a few lines:
    only cells within `bound` of the diagonal are computed, so the work is the length of the
    words times (2 * bound + 1), and nothing at all when their lengths differ by more."""
    over = bound + 1
    if abs(len(first) - len(second)) > bound:
        return over
    if bound == 0 or first == second:
        return 0 if first == second else over
    width = len(second) + 1
    before = [over] * width  # row i - 2, for a swap
    previous = [min(j, over) for j in range(width)]  # row i - 1
    for i in range(1, len(first) + 1):
        current = [over] * width
        if i <= bound:
            current[0] = i
        for j in range(max(1, i - bound), min(len(second), i + bound) + 1):
            cost = 0 if first[i - 1] == second[j - 1] else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and first[i - 1] == second[j - 2] and first[i - 2] == second[j - 1]:
                best = min(best, before[j - 2] + 1)
            current[j] = min(best, over)
        before, previous = previous, current
    return previous[-1]


def is_confirmation(first_words: Sequence[str]) -> bool:
    """Whether titles beginning with `first_words` (folded, one per option) are a yes and a no."""
    said = set(first_words)
    return bool(said & _YES) and bool(said & _NO)


def closest_by_typo(typed: Sequence[str], titles: Sequence[Sequence[str]]) -> int | None:
    """The position in `titles` (each an option's title as folded words) of the one option the
    words `typed` are a typo of (see the module's rules), None when none or more than one is.

    The caller has left out what no title could be (more words than any title has, more
    letters than any title plus its typos): a long text costs nothing here."""
    if not typed or is_confirmation([words[0] for words in titles if words]):
        return None
    menu_words = {word for words in titles for word in words}
    found: list[int] = []
    for position, words in enumerate(titles):
        if _UNDOING.intersection(words):
            continue
        if len(words) >= len(typed) and _is_typo_of(typed, words, menu_words):
            found.append(position)
            if len(found) > 1:
                return None
    return found[0] if found else None


def _is_typo_of(typed: Sequence[str], title: Sequence[str], menu_words: set[str]) -> bool:
    """Whether each typed word is the title's word at its place, or a typo of it that is no
    real word (`menu_words`, `_REAL_WORDS`). A text with no typo at all counts too: it is the
    first words of two titles, and so picks neither."""
    for said, word in zip(typed, title, strict=False):
        if said == word:
            continue
        if said in menu_words or said in _REAL_WORDS:
            return False
        bound = typo_bound(said, word)
        if bound == 0 or osa_distance(said, word, bound) > bound:
            return False
    return True
