"""`texts` as a turn's templates read it: the language chosen on the first read, each string
rendered once per `data` (a turn that reads no text does no work for the table).

Built only for a flow with a `texts:` table (`turn.TurnBuilder`); the table is `texts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from botfleet.flows.effects import Diagnostic
from botfleet.flows.render import Renderer
from botfleet.flows.texts import TEXTS, TextTable


class TurnTexts:
    """The table as one turn's namespaces read it (built again when `data` changes)."""

    __slots__ = ("_cache", "_choosing", "_language", "_languages", "_renderer", "_table")

    def __init__(
        self,
        table: TextTable,
        namespaces: Mapping[str, Any],
        languages: Callable[[], Iterable[str]],
        *,
        strict: bool,
        sink: list[Diagnostic],
    ) -> None:
        self._table = table
        self._languages = languages
        # The strings do not read `texts` themselves (the validator refuses it): no text can
        # then be made of itself.
        self._renderer = Renderer(namespaces, strict=strict, sink=sink)
        self._language: str | None = None
        self._choosing = False
        self._cache: dict[str, Any] = {}

    def language(self) -> str:
        language = self._language
        if language is None:
            if self._choosing:  # `settings.language` reading `texts`: no language to read yet
                raise KeyError(TEXTS)
            self._choosing = True
            try:
                language = self._language = self._table.language_of(self._languages())
            finally:
                self._choosing = False
        return language

    def read(self, key: str) -> Any:
        """The rendered string of the dotted `key`, or a view of the group it names; KeyError
        when the table has neither (a missing value to the template)."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        found = self._table.source(self.language(), key)
        if found is not None:
            language, source = found
            value: Any = self._renderer.text(source, f"{TEXTS}.{language}.{key}")
        elif key in self._table.groups:
            value = TextsView(self, f"{key}.")
        else:
            raise KeyError(key)
        self._cache[key] = value
        return value

    def keys_under(self, prefix: str) -> list[str]:
        """The keys directly under `prefix` (`menu.`), in the current language and the
        default."""
        table = self._table
        found = dict.fromkeys(
            key[len(prefix) :].split(".", 1)[0]
            for language in dict.fromkeys((self.language(), table.default))
            for key in table.strings[language]
            if key.startswith(prefix)
        )
        return list(found)


class TextsView(Mapping[str, Any]):
    """`texts` (or a group of it, `texts.menu`) in a template: a key read is the text of the
    turn's language."""

    __slots__ = ("_prefix", "_turn")

    def __init__(self, turn: TurnTexts, prefix: str = "") -> None:
        self._turn = turn
        self._prefix = prefix

    def __getitem__(self, key: object) -> Any:
        if not isinstance(key, str):
            raise KeyError(key)
        return self._turn.read(f"{self._prefix}{key}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._turn.keys_under(self._prefix))

    def __len__(self) -> int:
        return len(self._turn.keys_under(self._prefix))

    def __repr__(self) -> str:
        # What `{{ texts }}` would print: never Python's `<TextsView object at 0x...>`.
        return ""

    __str__ = __repr__
