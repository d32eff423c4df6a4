"""A flow's `texts:` table: each of its texts in every language it speaks. Pure.

`{{ texts.book }}` is the string of `book` in the conversation's language: the first the table
has of `settings.language` as it renders on the turn, the contact's language when the channel
gives it, the tenant's `language`; else the table's first language, its default. A key the
chosen language lacks is the default's (never an empty text). How a turn reads it is
`turn_texts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botfleet.domain.built_in_texts import primary_language

#: A text's key: a name a template can read after a dot (`texts.book_now`).
TEXT_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: The name templates read the table under.
TEXTS = "texts"


def flatten(group: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, string) of every text in `group`, nested groups walked (`menu.book`)."""
    for key, value in group.items():
        if isinstance(value, Mapping):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def group_keys(group: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """The dotted keys of `group` that hold other texts (`menu` for `menu.book`)."""
    for key, value in group.items():
        if isinstance(value, Mapping):
            yield f"{prefix}{key}"
            yield from group_keys(value, f"{prefix}{key}.")


def _tag(language: str) -> str:
    return language.strip().replace("_", "-").casefold()


@dataclass(frozen=True, slots=True)
class TextTable:
    """The flow's `texts`, flattened to dotted keys, once per flow."""

    #: The first language written: what a key another language lacks falls back to.
    default: str
    #: Language as written -> dotted key -> the string (a template).
    strings: Mapping[str, Mapping[str, str]]
    #: Dotted keys of every language that hold texts rather than being one (`menu`).
    groups: frozenset[str]
    #: Every dotted key of a text, in any language.
    keys: frozenset[str]
    #: A language as compared (`pt-br`) -> as written (`pt_BR`).
    by_tag: Mapping[str, str]

    @classmethod
    def of(cls, texts: Mapping[str, Mapping[str, Any]]) -> TextTable | None:
        if not texts:
            return None
        strings = {language: dict(flatten(group)) for language, group in texts.items()}
        groups = frozenset(key for group in texts.values() for key in group_keys(group))
        by_tag: dict[str, str] = {}
        for language in texts:  # the first of two that compare the same wins, as written
            by_tag.setdefault(_tag(language), language)
        return cls(
            default=next(iter(texts)),
            strings=strings,
            groups=groups,
            keys=frozenset(key for table in strings.values() for key in table),
            by_tag=by_tag,
        )

    def language_of(self, candidates: Iterable[str]) -> str:
        """The first of `candidates` the table has (`ca-ES` and `ca_es` find `ca`), else the
        default."""
        for candidate in candidates:
            if not candidate or not candidate.strip():
                continue
            found = self.by_tag.get(_tag(candidate)) or self.by_tag.get(primary_language(candidate))
            if found is not None:
                return found
        return self.default

    def source(self, language: str, key: str) -> tuple[str, str] | None:
        """(the language it is taken from, the string) of `key` in `language`, else in the
        default; None when neither has it."""
        own = self.strings[language].get(key)
        if own is not None:
            return language, own
        fallback = self.strings[self.default].get(key)
        return None if fallback is None else (self.default, fallback)
