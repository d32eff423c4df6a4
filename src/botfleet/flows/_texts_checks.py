"""Static checks of a flow's `texts` table. Pure.

Every language must have every key (the first language, the default, above all: it is what
the others fall back to), a key must be a text in all of them or a group in all of them, the
strings must be templates that work, and each language must be a language tag, which is
what the languages of a conversation are compared with. Reads of `texts.<key>` are checked
with the other templates (`_template_checks`).
"""

from __future__ import annotations

import re

from botfleet.flows._issues import IssueCollector
from botfleet.flows._template_checks import check_templates
from botfleet.flows.schema import FlowSpec
from botfleet.flows.texts import TEXTS
from botfleet.flows.yaml_lines import key_path

#: A language tag as channels and settings give them: `es`, `ast`, `en-GB`, `pt_BR`,
#: `zh-Hant-TW`.
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
#: Keys named in one issue before "and N more".
_SHOWN_KEYS = 8


def check_texts(spec: FlowSpec, collector: IssueCollector) -> None:
    table = spec.text_table
    if table is None:
        return
    for language, group in spec.texts.items():
        place = key_path(TEXTS, language)
        if not _LANGUAGE_TAG.match(language):
            use = (
                "it is still the default, which a key another language lacks falls back to"
                if language == table.default
                else "no conversation is ever read in it"
            )
            collector.warning(
                place,
                f"{language!r} is not a language tag (such as es, ca, en-GB, pt_BR): "
                "settings.language, the contact's and the tenant's language are compared with "
                f"the languages of `{TEXTS}`, so {use}; name it by its code",
            )
        check_templates(collector, place, group, reads_texts=False)
    for key in sorted(table.keys & table.groups):
        kinds = [
            f"{language}: {'a text' if key in strings else 'a group'}"
            for language, strings in table.strings.items()
            if key in strings or any(known.startswith(f"{key}.") for known in strings)
        ]
        collector.error(
            TEXTS,
            f"{TEXTS} key {key!r} is a text in one language and a group of texts in another "
            f"({'; '.join(kinds)}): make it the same in every language",
        )
    for language, strings in table.strings.items():
        missing = sorted(table.keys - strings.keys())
        if not missing:
            continue
        place = key_path(TEXTS, language)
        named = _named(missing)
        if language == table.default:
            collector.error(
                place,
                f"{TEXTS}.{language}, the default language, has no {named}, which other "
                "languages have: a contact in a language without it would get a missing "
                f"value; add it here (the first language of `{TEXTS}` is the one a key "
                "another lacks falls back to)",
            )
        else:
            collector.warning(
                place,
                f"{TEXTS}.{language} has no {named}: a contact reading {language} gets "
                f"{'it' if len(missing) == 1 else 'them'} in {table.default}, the default "
                "language; translate it",
            )


def _named(keys: list[str]) -> str:
    shown = ", ".join(repr(key) for key in keys[:_SHOWN_KEYS])
    more = len(keys) - _SHOWN_KEYS
    return f"{shown} and {more} more" if more > 0 else shown
