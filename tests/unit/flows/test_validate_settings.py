"""Validator warnings on `settings`: menu words sent as written, and `session_keeps` without a
timeout or naming a key the flow never sets (docs/flow-dsl.md, "Settings")."""

from __future__ import annotations

from textwrap import dedent

import pytest

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.load import load_flow_text

#: The flow's `data` keys: set_data in an action (`lang`) and a transition (`patient_name`), a
#: result key written with a dot (`booking.slots`), a suffix (`service`) and what it expands to
#: (`service_name`), a task's carried data (`reminder`).
FLOW = """\
id: t
initial_state: MENU
settings:
{settings}
services:
  corte: {{name: Corte}}
states:
  MENU:
    on_enter:
      - action: set_data
        values: {{lang: es}}
      - action: invoke_connector
        connector: calendar
        operation: get_available_days
        result_key: booking.slots
      - action: schedule_task
        task: remind
        delay: 1h
        data: {{reminder: true}}
    transitions:
      - on_payload: name
        set_data: {{patient_name: Ana}}
        target: MENU
      - on_payload_prefix: service_
        extract_suffix_as: service
        target: MENU
    fallback: MENU
tasks:
  remind:
    - action: send_text
      text: Hi
"""


def issues(settings: str) -> list[FlowIssue]:
    text = FLOW.format(settings="\n".join(f"  {line}" for line in dedent(settings).splitlines()))
    return list(load_flow_text(text, "t.yaml").warnings)


def warned(settings: str) -> list[tuple[int | None, str, str]]:
    return [(i.line, i.path, i.message) for i in issues(settings) if i.severity == "warning"]


# ---------------------------------------------------------------- menu_texts


def test_a_template_in_the_menu_words_is_sent_as_written() -> None:
    found = warned(
        """\
        menu_texts:
          list_button: "{{ 'Ver' if data.lang == 'es' else 'See' }}"
          number_hint: "Reply {% if true %}now{% endif %}"
        """
    )
    assert [(line, path) for line, path, _ in found] == [
        (5, "settings.menu_texts.list_button"),
        (6, "settings.menu_texts.number_hint"),
    ]
    assert found[0][2] == (
        "menu_texts.list_button is sent as written, never rendered: the user would see the "
        "{{ }} markup; write plain text, or leave the key out for the built-in words of the "
        'contact\'s language (which settings.language can choose, e.g. "{{ data.lang }}")'
    )
    assert found[1][2].startswith("menu_texts.number_hint is sent as written")


def test_plain_menu_words_are_no_warning() -> None:
    assert warned("menu_texts: {list_button: 'Ver {opciones}', number_hint: ''}") == []


# ---------------------------------------------------------------- language


@pytest.mark.parametrize(
    "value", ["'{{ data.lang }}'", "ca", "pt-BR", "ca_ES", "\"{{ data.lang | default('es') }}\""]
)
def test_a_template_or_a_language_the_platform_writes_is_no_warning(value: str) -> None:
    assert issues(f"language: {value}") == []


@pytest.mark.parametrize(
    ("value", "shown"), [("nl", "'nl'"), ("catalan", "'catalan'"), ("' '", "blank")]
)
def test_a_written_language_without_built_in_words_is_a_warning(value: str, shown: str) -> None:
    assert warned(f"language: {value}") == [
        (
            4,
            "settings.language",
            f"language is {shown}, not a language the platform has words in (en, es, pt, fr, "
            "de, it, ca, with a region or not): the menu words and the built-in apology follow "
            "the contact's or the tenant's language as without it; write one of these, a "
            'template such as "{{ data.lang }}", or leave the key out',
        )
    ]


def test_a_template_of_the_language_is_checked_as_any_other() -> None:
    with pytest.raises(FlowValidationError) as caught:
        issues("language: '{{ dta.lang }}'")
    (issue,) = caught.value.issues
    assert (issue.line, issue.path) == (4, "settings.language")
    assert issue.message.startswith("unknown name 'dta' (did you mean 'data'?)")


# ---------------------------------------------------------------- session_keeps


def test_session_keeps_without_a_session_timeout_has_nothing_to_keep_across() -> None:
    assert warned("session_keeps: [lang]") == [
        (
            4,
            "settings.session_keeps",
            "session_keeps has nothing to keep across: without settings.session_timeout "
            "sessions never end and `data` is never emptied; set a session_timeout (e.g. 12h) "
            "or remove session_keeps",
        )
    ]


@pytest.mark.parametrize(
    "settings", ["session_keeps: []", "session_timeout: 30m", "debounce_ms: 0"]
)
def test_no_session_keeps_or_a_timeout_alone_is_no_warning(settings: str) -> None:
    assert warned(settings) == []


def test_every_key_the_flow_or_the_engine_writes_may_be_kept() -> None:
    keeps = (
        "[lang, patient_name, booking.slots, booking, service, service_name, reminder, "
        "contact_name, today]"
    )
    assert warned(f"session_timeout: 30m\nsession_keeps: {keeps}") == []


def test_a_key_nothing_sets_is_a_warning_on_its_own_item_with_a_suggestion() -> None:
    found = warned(
        """\
        session_timeout: 30m
        session_keeps:
          - lang
          - patient_nmae
          - opted_out
        """
    )
    assert found == [
        (
            7,
            "settings.session_keeps[1]",
            "session_keeps names 'patient_nmae' (did you mean 'patient_name'?), a key this "
            "flow never sets (no set_data, invoke_connector result_key, extract_suffix_as or "
            "schedule_task data writes it): a session timeout has nothing to keep under it",
        ),
        (
            8,
            "settings.session_keeps[2]",
            "session_keeps names 'opted_out', a key this flow never sets (no set_data, "
            "invoke_connector result_key, extract_suffix_as or schedule_task data writes it): "
            "a session timeout has nothing to keep under it",
        ),
    ]


def test_without_a_timeout_both_warnings_are_given() -> None:
    paths = [path for _, path, _ in warned("session_keeps: [lang, lnag]")]
    assert paths == ["settings.session_keeps", "settings.session_keeps[1]"]


def test_keys_of_an_unextracted_service_are_not_written() -> None:
    # Services expand only into a suffix extracted by a transition: a flow without one never
    # writes `service_name`, so keeping it keeps nothing.
    text = (
        "id: t\ninitial_state: MENU\nservices: {corte: {name: Corte}}\n"
        "settings: {session_timeout: 30m, session_keeps: [service_name]}\n"
        "states:\n  MENU: {fallback: MENU}\n"
    )
    found = [(i.path, i.message) for i in load_flow_text(text, "t.yaml").warnings]
    assert [path for path, _ in found] == ["settings.session_keeps[0]"]
