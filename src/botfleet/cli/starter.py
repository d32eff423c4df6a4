"""What `botfleet new NAME` writes: a starter flow, a tenant running it, conversation tests."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import yaml

from botfleet.cli.starter_texts import STARTER_TEXTS, StarterTexts
from botfleet.domain.built_in_texts import BUILT_IN_TEXTS, primary_language

__all__ = [
    "DEFAULT_LANGUAGE",
    "DEFAULT_TIMEZONE",
    "LANGUAGE_PATTERN",
    "NAME_PATTERN",
    "StarterExists",
    "starter_files",
    "starter_language",
    "write_starter",
]

#: Flow names become file names and the flow id: lower case, digits and underscores.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,62}")
#: The starter tenant's clock and language unless `new --timezone/--language` say otherwise.
DEFAULT_TIMEZONE = "Europe/Madrid"
DEFAULT_LANGUAGE = "en"
#: A language tag as the tenant's `language` takes it: `pt`, `pt-PT`, `es-419`.
LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")

# The starter's files; `__WORD__` marks are filled in by `starter_files`, the words from
# `starter_texts` (quoted there as YAML needs).
_FLOW = """\
# __NAME__: a starter flow written by `botfleet new`. Reference: docs/flow-dsl.md
# Check it: botfleet validate tenant.yaml | Test it: botfleet test tests --coverage
# Try it: botfleet chat tenant.yaml | Draw it: botfleet graph __NAME__.yaml
id: __NAME___v1
initial_state: MENU

# Sent when something fails (a calendar that does not answer...). Left out, the contact gets a
# built-in apology in their language (else the tenant's `language`).
# settings:
__ERROR_TEXT__

global_transitions:
  # Typing "__MENU_WORD__" anywhere goes back to the menu.
  - condition: "message.type == 'text' and (message.text | trim | lower) in __MENU_WORDS__"
    target: MENU

states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
__GREETING__
        buttons:
          - {id: "menu_hours", title: __HOURS_BUTTON__}
          - {id: "menu_message", title: __MESSAGE_BUTTON__}
    transitions:
      - on_payload: "menu_hours"
        target: HOURS
      - on_payload: "menu_message"
        target: ASK_MESSAGE
    fallback: MENU

  HOURS:
    on_enter:
      - action: send_text
        text: __HOURS__
    next: MENU

  ASK_MESSAGE:
    on_enter:
      - action: send_text
        text: __ASK_MESSAGE__
    transitions:
      - on_type: text
        set_data:
          message: "{{ message.text }}"
        target: THANKS
    fallback: ASK_MESSAGE

  THANKS:
    on_enter:
      - action: send_text
        text: __THANKS__
    next: MENU
"""

_TENANT = """\
# A tenant running the __NAME__ flow on the web chat (botfleet serve data-plane --tenant-config ...)
tenant_id: __NAME__
name: __BUSINESS_NAME__
# The business's own clock (IANA name): reminders, "today" and opening hours follow it.
timezone: __TIMEZONE__
# The built-in texts' language (apologies, "Options", calendar day names): en, es, pt, fr, de,
# it, ca; a regional tag such as pt-PT or es-MX also works.
language: __LANGUAGE__
flow_path: __NAME__.yaml
channel:
  type: webchat
"""

_MENU_TEST = """\
# Conversation test (docs/authoring.md): run with `botfleet test tests`
name: __MENU_TEST_NAME__
tenant: ../tenant.yaml
contact: {id: customer-1, name: Ana}
steps:
  - __SAY_HELLO__
    expect:
      - text: __GREETING_TO_ANA__
        buttons: [menu_hours, menu_message]
    state: MENU
  - press: menu_hours
    expect:
      - __HOURS__
      - {contains: __HELP_QUESTION__, buttons: [menu_hours, menu_message]}
    state: MENU
  - say: "1"            # a number picks the first choice shown
    expect:
      - {contains: __HOURS_WORDS__}
      - {type: buttons}
  - __SAY_NOTHING__
    expect: [{regex: __HELLO_ANA__}]
    state: MENU
"""

_MESSAGE_TEST = """\
name: __MESSAGE_TEST_NAME__
tenant: ../tenant.yaml
steps:
  - __SAY_HI__
    state: MENU
  - press: menu_message
    expect: [__ASK_MESSAGE__]
    state: ASK_MESSAGE
  - send: {type: image}  # not text: the built-in notice, then asked again
    expect: [__MEDIA_TEXT__, __ASK_MESSAGE__]
    state: ASK_MESSAGE
  - __SAY_MESSAGE__
    expect:
      - __THANKS_FOR_MESSAGE__
      - {type: buttons}
    state: MENU
    data: {message: __MESSAGE_IN_DATA__}
  - press: menu_message
  - __SAY_MENU__
    expect: [{contains: __HELP_QUESTION__}]
    state: MENU
"""

_MARK = re.compile(r"__([A-Z]+(?:_[A-Z]+)*)__")
#: The column of the comments after `say:` in the tests (counted from the `say`).
_COMMENT_COLUMN = 20
#: The longest line of the flow's comments.
_LINE_WIDTH = 99


def starter_language(language: str) -> str:
    """The language (ISO 639-1) the starter is written in for a tenant speaking `language` (a
    tag such as "es" or "pt-PT"), or "" when there is no starter in it (it is in English then:
    `new` says so)."""
    primary = primary_language(language)
    return primary if primary in STARTER_TEXTS else ""


def _quoted(text: str) -> str:
    """`text` as a double-quoted YAML scalar (JSON's escapes are YAML's; accents kept)."""
    return json.dumps(text, ensure_ascii=False)


def _scalar(text: str, *, in_braces: bool = False) -> str:
    """`text` as typed (the way an author writes `say: hello`) when YAML reads it back as this
    text, else quoted: "1", "yes" or "a: b" would come back as something else."""
    probe = f"{{k: {text}}}" if in_braces else f"k: {text}"
    try:
        plain = yaml.safe_load(probe) == {"k": text}
    except yaml.YAMLError:
        plain = False
    return text if plain and text == text.strip() else _quoted(text)


def _say(text: str, comment: str = "") -> str:
    """A test's `say:` step, with a comment lined up with the others."""
    line = f"say: {_scalar(text)}"
    return f"{line:<{_COMMENT_COLUMN - 2}}  {comment}" if comment else line


def _error_text(text: str) -> str:
    """The commented-out `settings.error_text`, wrapped as the file's other lines are: a quoted
    YAML string folds its line breaks into spaces, so uncommented it is still this text."""
    return "\n".join(
        textwrap.wrap(
            _quoted(text),
            width=_LINE_WIDTH,
            initial_indent="#   error_text: ",
            subsequent_indent="#     ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


def _greeting(template: str) -> str:
    """The menu's `body:` (folded: one line sent), under a note when it trims the name."""
    lines = ["        body: >-", *(f"          {line}" for line in template.splitlines())]
    if "trim('.')" in template:
        note = "# trim('.'): a name ending in a period (\"Crumb & Co.\") ends the sentence once."
        lines.insert(0, f"        {note}")
    return "\n".join(lines)


def _marks(texts: StarterTexts, language: str) -> dict[str, str]:
    """What each `__WORD__` of the templates stands for, written in `texts`' language."""
    menu_words = ", ".join(f"'{word}'" for word in texts.menu_words)
    return {
        "ERROR_TEXT": _error_text(BUILT_IN_TEXTS[language].error),
        "MEDIA_TEXT": _quoted(BUILT_IN_TEXTS[language].media),
        "MENU_WORD": texts.menu_words[0],
        "MENU_WORDS": f"[{menu_words}]",
        "GREETING": _greeting(texts.greeting),
        "HOURS_BUTTON": _quoted(texts.hours_button),
        "MESSAGE_BUTTON": _quoted(texts.message_button),
        "HOURS": _quoted(texts.hours),
        "ASK_MESSAGE": _quoted(texts.ask_message),
        "THANKS": _quoted(texts.thanks),
        "BUSINESS_NAME": _quoted(texts.business_name),
        "MENU_TEST_NAME": _scalar(texts.menu_test_name),
        "MESSAGE_TEST_NAME": _scalar(texts.message_test_name),
        "SAY_HELLO": _say(texts.say_hello),
        "GREETING_TO_ANA": _quoted(texts.greeting_to_ana),
        "HELP_QUESTION": _quoted(texts.help_question),
        "HOURS_WORDS": _quoted(texts.hours_words),
        "SAY_NOTHING": _say(texts.say_nothing, "# matches nothing: the menu again"),
        "HELLO_ANA": _quoted(f"^{texts.hello_ana}"),
        "SAY_HI": _say(texts.say_hi),
        "SAY_MESSAGE": _say(texts.say_message),
        "THANKS_FOR_MESSAGE": _quoted(
            texts.thanks.replace("{{ data.message }}", texts.say_message)
        ),
        "MESSAGE_IN_DATA": _scalar(texts.say_message, in_braces=True),
        "SAY_MENU": _say(texts.say_menu, f'# "{texts.say_menu}" works everywhere'),
    }


class StarterExists(FileExistsError):
    """A file `new` would write is already there (use --force to replace it)."""


def starter_files(
    name: str, *, timezone: str = DEFAULT_TIMEZONE, language: str = DEFAULT_LANGUAGE
) -> dict[str, str]:
    """Relative path -> text of every file for the flow `name`, its tenant on `timezone`
    speaking `language` (both checked by the caller). The flow's and the tests' words are in
    `language` when there is a starter in it (`starter_language`), else in English."""
    written_in = starter_language(language) or "en"
    marks = _marks(STARTER_TEXTS[written_in], written_in)
    marks.update(NAME=name, TIMEZONE=timezone, LANGUAGE=language)
    files = {
        f"{name}.yaml": _FLOW,
        "tenant.yaml": _TENANT,
        f"tests/{name}_menu.yaml": _MENU_TEST,
        f"tests/{name}_message.yaml": _MESSAGE_TEST,
    }
    # One pass: a mark's words are never read again for marks (a text may hold "__").
    return {
        path: _MARK.sub(lambda found: marks[found.group(1)], text) for path, text in files.items()
    }


def write_starter(
    name: str,
    folder: Path,
    *,
    force: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
    language: str = DEFAULT_LANGUAGE,
) -> list[Path]:
    """Write the starter into `folder`; returns the paths written.

    Raises:
        ValueError: `name` is not a valid flow name.
        StarterExists: a file exists and `force` is false (nothing is written then).
    """
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"invalid flow name {name!r}: use lower-case letters, digits and underscores, "
            "starting with a letter (e.g. my_bot)"
        )
    files = starter_files(name, timezone=timezone, language=language)
    targets = {folder / path: text for path, text in files.items()}
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise StarterExists(f"already there (use --force to replace): {', '.join(existing)}")
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(targets)
