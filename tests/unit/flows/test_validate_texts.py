"""The validator on `texts:` (docs/flow-dsl.md, "Several languages"): every language has the
same keys, reads of `texts.<key>` name keys the table has, its strings are templates that
work and read no `texts`, and its languages are language tags."""

from __future__ import annotations

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.load import load_flow_text

#: `{texts}` is the table (lines 6 to 14), `{text}` a line of the menu's text (line 25).
FLOW = """\
id: t
initial_state: MENU
settings:
  language: "{language}"
texts:
{texts}
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "{{{{ texts.hi }}}}"
        buttons:
          - {{id: book, title: "{{{{ texts.menu.book }}}}"}}
      - action: send_text
        text: >-
          {{{{ texts.hi }}}}
          {text}
    fallback: MENU
    transitions:
      - {{on_payload: book, target: MENU}}
"""
TEXTS = """\
  ca:
    hi: "Hola {{ contact.name }}"
    menu: {book: Demanar hora}
  es:
    hi: Hola
    menu: {book: Pedir cita}
  en:
    hi: Hi
    menu: {book: Book}"""


def issues_of(
    texts: str = TEXTS, text: str = "", language: str = "{{ data.lang }}"
) -> list[FlowIssue]:
    flow = FLOW.format(texts=texts, text=text, language=language)
    try:
        return list(load_flow_text(flow, "t.yaml").warnings)
    except FlowValidationError as exc:
        return list(exc.issues)


def found(
    texts: str = TEXTS, text: str = "", language: str = "{{ data.lang }}"
) -> list[tuple[str, int | None, str, str]]:
    return [
        (i.severity, i.line, i.path, i.message)
        for i in issues_of(texts, text, language)
        if "texts" in i.message or i.path.startswith("texts")
    ]


def test_the_clinics_table_read_as_written_is_clean() -> None:
    assert issues_of() == []


def test_a_key_the_default_language_lacks_is_an_error_naming_it() -> None:
    texts = TEXTS.replace('    hi: "Hola {{ contact.name }}"\n', "")
    assert found(texts) == [
        (
            "error",
            6,
            "texts.ca",
            "texts.ca, the default language, has no 'hi', which other languages have: a "
            "contact in a language without it would get a missing value; add it here (the "
            "first language of `texts` is the one a key another lacks falls back to)",
        )
    ]


def test_a_key_another_language_lacks_is_a_warning_naming_it_and_the_fallback() -> None:
    texts = TEXTS.replace("    menu: {book: Pedir cita}", "    menu: {}").replace(
        "    hi: Hi\n", ""
    )
    assert found(texts) == [
        (
            "warning",
            9,
            "texts.es",
            "texts.es has no 'menu.book': a contact reading es gets it in ca, the default "
            "language; translate it",
        ),
        (
            "warning",
            12,
            "texts.en",
            "texts.en has no 'hi': a contact reading en gets it in ca, the default language; "
            "translate it",
        ),
    ]


def test_a_read_of_a_key_no_language_has_is_an_error_on_its_line_with_the_key_meant() -> None:
    assert found(text="{{ texts.menu.bok }} {{ texts.hii }}") == [
        (
            "error",
            25,
            "states.MENU.on_enter[1].text",
            "reads texts.menu.bok, a text no language of `texts` has (did you mean 'book'?): "
            "it would render as a missing value; add it under `texts.ca` (the default "
            "language) and the others",
        ),
        (
            "error",
            25,
            "states.MENU.on_enter[1].text",
            "reads texts.hii, a text no language of `texts` has (did you mean 'hi'?): it "
            "would render as a missing value; add it under `texts.ca` (the default language) "
            "and the others",
        ),
    ]


def test_reads_the_checks_cannot_know_or_that_go_on_from_a_text_pass() -> None:
    text = "{{ texts[data.key] }} {{ texts.menu[data.key] }} {{ texts.hi.upper() }}"
    assert found(text=text) == []


def test_a_group_read_whole_is_a_warning() -> None:
    assert [(s, m) for s, _, _, m in found(text="{{ texts.menu }}")] == [
        (
            "warning",
            "reads texts.menu whole, which holds texts rather than being one: read one of its "
            "texts, `texts.menu.<key>`",
        )
    ]


def test_the_strings_are_checked_as_templates_and_read_no_texts() -> None:
    texts = TEXTS.replace("    hi: Hola\n", '    hi: "{{ data.x }"\n').replace(
        "    hi: Hi\n", '    hi: "{{ texts.menu.book }}"\n'
    )
    problems = found(texts)
    assert [(s, line, path) for s, line, path, _ in problems] == [
        ("error", 10, "texts.es.hi"),
        ("error", 13, "texts.en.hi"),
    ]
    assert "a `{{ ... }}` closed with one brace" in problems[0][3]
    assert "`texts` is not read here" in problems[1][3]


def test_settings_language_cannot_read_texts() -> None:
    (problem,) = found(language="{{ texts.hi }}")
    assert problem[:3] == ("error", 4, "settings.language")
    assert "`texts` is not read here" in problem[3]


def test_a_language_that_is_no_language_tag_is_a_warning() -> None:
    texts = TEXTS.replace("  en:", "  english:")
    assert [(s, line, path) for s, line, path, _ in found(texts)] == [
        ("warning", 12, "texts.english")
    ]
    (message,) = [m for *_, m in found(texts)]
    assert "'english' is not a language tag" in message
    assert "no conversation is ever read in it" in message
    tagged = TEXTS.replace("  es:", "  es-ES:").replace("  en:", "  pt_BR:")
    assert found(tagged) == []


def test_a_key_that_is_a_text_in_one_language_and_a_group_in_another_is_an_error() -> None:
    texts = TEXTS.replace("    menu: {book: Book}", "    menu: Menu")
    problems = [m for s, _, _, m in found(texts) if s == "error"]
    assert problems[0] == (
        "texts key 'menu' is a text in one language and a group of texts in another (ca: a "
        "group; es: a group; en: a text): make it the same in every language"
    )


def test_a_flow_without_texts_that_reads_them_is_told_where_they_go() -> None:
    flow = "id: t\ninitial_state: A\nstates:\n  A:\n    on_enter:\n"
    flow += '      - {action: send_text, text: "{{ texts.hi }}"}\n    fallback: A\n'
    try:
        load_flow_text(flow, "t.yaml")
    except FlowValidationError as exc:
        (issue,) = exc.issues
    assert issue.line == 6
    assert "unknown name 'texts'" in issue.message
    assert "a top-level `texts:` table" in issue.message


def test_a_key_that_templates_cannot_read_after_a_dot_is_refused() -> None:
    texts = TEXTS.replace("    hi: Hi\n", "    hi: Hi\n    book-now: Book\n")
    (problem,) = [(s, line, m) for s, line, _, m in found(texts) if s == "error"]
    assert problem[:2] == ("error", 14)
    assert "a text's key is read after a dot" in problem[2]


def test_a_setting_written_at_the_top_level_is_not_taken_for_texts() -> None:
    flow = "id: t\ninitial_state: A\nmenu_texts: {list_button: Tria}\nstates: {A: {fallback: A}}\n"
    try:
        load_flow_text(flow, "t.yaml")
    except FlowValidationError as exc:
        (issue,) = exc.issues
    assert issue.message == (
        "unknown key 'menu_texts': `menu_texts` belongs to `settings`: indent it under `settings:`"
    )
