"""What `botfleet new NAME` writes: a starter flow, a tenant running it, conversation tests."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = [
    "DEFAULT_LANGUAGE",
    "DEFAULT_TIMEZONE",
    "LANGUAGE_PATTERN",
    "NAME_PATTERN",
    "StarterExists",
    "starter_files",
    "write_starter",
]

#: Flow names become file names and the flow id: lower case, digits and underscores.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,62}")
#: The starter tenant's clock and language unless `new --timezone/--language` say otherwise.
DEFAULT_TIMEZONE = "Europe/Madrid"
DEFAULT_LANGUAGE = "en"
#: A language tag as the tenant's `language` takes it: `pt`, `pt-PT`, `es-419`.
LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")

_FLOW = """\
# __NAME__: a starter flow written by `botfleet new`. Reference: docs/flow-dsl.md
# Check it: botfleet validate tenant.yaml | Test it: botfleet test tests --coverage
# Try it: botfleet chat tenant.yaml | Draw it: botfleet graph __NAME__.yaml
id: __NAME___v1
initial_state: MENU

# Sent when something fails (a calendar that does not answer...). Left out, the contact gets a
# built-in apology in their language (else the tenant's `language`).
# settings:
#   error_text: "Sorry, something went wrong on our side. Please try again in a moment."

global_transitions:
  # Typing "menu" anywhere goes back to the menu.
  - condition: "message.type == 'text' and (message.text | trim | lower) in ['menu', 'start']"
    target: MENU

states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        # trim('.'): a name ending in a period ("Crumb & Co.") ends the sentence once.
        body: >-
          Hi{{ ' ' ~ contact.name if contact.name }}! Welcome to {{ tenant.name | trim('.') }}.
          How can I help?
        buttons:
          - {id: "menu_hours", title: "Opening hours"}
          - {id: "menu_message", title: "Leave a message"}
    transitions:
      - on_payload: "menu_hours"
        target: HOURS
      - on_payload: "menu_message"
        target: ASK_MESSAGE
    fallback: MENU

  HOURS:
    on_enter:
      - action: send_text
        text: "We are open Monday to Friday, 9:00 to 18:00."
    next: MENU

  ASK_MESSAGE:
    on_enter:
      - action: send_text
        text: "Type your message and we will get back to you."
    transitions:
      - on_type: text
        set_data:
          message: "{{ message.text }}"
        target: THANKS
    fallback: ASK_MESSAGE

  THANKS:
    on_enter:
      - action: send_text
        text: "Thanks! We got your message: {{ data.message }}"
    next: MENU
"""

_TENANT = """\
# A tenant running the __NAME__ flow on the web chat (botfleet serve data-plane --tenant-config ...)
tenant_id: __NAME__
name: "My Business"
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
name: the menu and the opening hours
tenant: ../tenant.yaml
contact: {id: "+34600000001", name: Ana}
steps:
  - say: hello
    expect:
      - text: "Hi Ana! Welcome to My Business. How can I help?"
        buttons: [menu_hours, menu_message]
    state: MENU
  - press: menu_hours
    expect:
      - "We are open Monday to Friday, 9:00 to 18:00."
      - {contains: "How can I help?", buttons: [menu_hours, menu_message]}
    state: MENU
  - say: "1"            # a number picks the first choice shown
    expect:
      - {contains: "Monday to Friday"}
      - {type: buttons}
  - say: what's up?     # matches nothing: the menu again
    expect: [{regex: "^Hi Ana!"}]
    state: MENU
"""

_MESSAGE_TEST = """\
name: leaving a message
tenant: ../tenant.yaml
steps:
  - say: hi
    state: MENU
  - press: menu_message
    expect: ["Type your message and we will get back to you."]
    state: ASK_MESSAGE
  - send: {type: image}  # not text: asked again
    expect: ["Type your message and we will get back to you."]
    state: ASK_MESSAGE
  - say: Please call me back tomorrow
    expect:
      - "Thanks! We got your message: Please call me back tomorrow"
      - {type: buttons}
    state: MENU
    data: {message: Please call me back tomorrow}
  - press: menu_message
  - say: menu           # "menu" works everywhere
    expect: [{contains: "How can I help?"}]
    state: MENU
"""


class StarterExists(FileExistsError):
    """A file `new` would write is already there (use --force to replace it)."""


def starter_files(
    name: str, *, timezone: str = DEFAULT_TIMEZONE, language: str = DEFAULT_LANGUAGE
) -> dict[str, str]:
    """Relative path -> text of every file for the flow `name`, its tenant on `timezone`
    speaking `language` (both checked by the caller)."""
    files = {
        f"{name}.yaml": _FLOW,
        "tenant.yaml": _TENANT,
        f"tests/{name}_menu.yaml": _MENU_TEST,
        f"tests/{name}_message.yaml": _MESSAGE_TEST,
    }
    return {
        path: text.replace("__NAME__", name)
        .replace("__TIMEZONE__", timezone)
        .replace("__LANGUAGE__", language)
        for path, text in files.items()
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
