"""Menu words taken from the flow's `texts`, as each language writes them. Pure.

The length checks measure only literal titles (a template's length is only known once
rendered); a title that is one read of `texts` (`{{ texts.menu.book }}`, the pattern the docs
recommend) is a literal text in each language, so each language's copy of the menu is checked
too: a German title too long for Telegram went out cut, unwarned, while its English one fitted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from botfleet.flows.render import is_template
from botfleet.flows.schema import OptionSpec, SendButtons, SendList
from botfleet.flows.texts import TextTable

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
#: A template that is one read of `texts` and nothing else (blanks and `-` trims allowed).
_ONE_READ = re.compile(rf"\s*\{{\{{-?\s*texts\.({_NAME}(?:\.{_NAME})*)\s*-?\}}\}}\s*")


def written_in(text: str, table: TextTable, language: str) -> str | None:
    """`text`, when it is one read of `texts`, as `language` writes it; None when it is
    anything else, or the language lacks the key (it reads the default's, checked as that
    language's), or writes a template there."""
    found = _ONE_READ.fullmatch(text)
    if found is None:
        return None
    written = table.strings.get(language, {}).get(found[1])
    return None if written is None or is_template(written) else written


def language_views(
    action: SendButtons | SendList, table: TextTable | None
) -> Iterator[tuple[str, SendButtons | SendList]]:
    """(language, `action` with its `texts` reads written as that language writes them), for
    each language that changes some of its words."""
    if table is None:
        return
    for language in table.strings:
        view = _in_language(action, table, language)
        if view is not None:
            yield language, view


def _in_language(
    action: SendButtons | SendList, table: TextTable, language: str
) -> SendButtons | SendList | None:
    changed = False

    def word(text: str) -> str:
        nonlocal changed
        written = written_in(text, table, language)
        if written is None:
            return text
        changed = True
        return written

    def option(spec: OptionSpec) -> OptionSpec:
        return spec.model_copy(
            update={"title": word(spec.title), "description": word(spec.description)}
        )

    if isinstance(action, SendButtons):
        view: SendButtons | SendList = action.model_copy(
            update={"buttons": [option(button) for button in action.buttons]}
        )
    else:
        sections = [
            section.model_copy(
                update={"title": word(section.title), "rows": [option(r) for r in section.rows]}
            )
            for section in action.sections
        ]
        label = None if action.button_label is None else word(action.button_label)
        view = action.model_copy(update={"sections": sections, "button_label": label})
    return view if changed else None
