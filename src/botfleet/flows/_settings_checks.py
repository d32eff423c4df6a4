"""Static checks of a flow's `settings`. Pure.

Texts sent as written must not hold template markup, `session_timeout` must be a duration,
`session_keeps` must have a timeout to keep keys across and name keys the flow writes, and a
`language` written as it stands must be one the platform has words in.
"""

from __future__ import annotations

from datetime import timedelta

from botfleet.domain.built_in_texts import BUILT_IN_TEXTS, built_in_language
from botfleet.flows._content_checks import check_duration, data_keys_written
from botfleet.flows._issues import IssueCollector, did_you_mean
from botfleet.flows._template_checks import check_templates
from botfleet.flows.durations import parse_duration
from botfleet.flows.render import is_template
from botfleet.flows.schema import FlowSpec
from botfleet.flows.yaml_lines import index_path, key_path

#: `data` keys the engine writes itself: `contact_name` (a message's profile name), `today`
#: (each turn) and `llm_unanswered_count` (`llm_unanswered_after`), so keeping them needs no
#: action of the flow.
ENGINE_DATA_KEYS = frozenset({"contact_name", "today", "llm_unanswered_count"})


def check_settings(spec: FlowSpec, collector: IssueCollector) -> None:
    settings = spec.settings
    if settings.session_timeout is not None:
        check_duration(settings.session_timeout, "settings.session_timeout", collector)
    _check_retention(spec, collector)
    # Rendered, unlike the texts of the error paths.
    for name in ("restart_text", "media_text"):
        source = getattr(settings, name)
        if source is not None:
            check_templates(collector, f"settings.{name}", source)
    _check_plain_texts(spec, collector)
    _check_session_keeps(spec, collector)
    _check_language(spec, collector)


#: Shortest `conversation_retention`: the data plane checks it once an hour, and anything
#: shorter would forget contacts in the middle of an ordinary day's conversation.
MIN_RETENTION = timedelta(days=1)


def _check_retention(spec: FlowSpec, collector: IssueCollector) -> None:
    place = "settings.conversation_retention"
    text = spec.settings.conversation_retention
    if text is None:
        return
    try:
        retention = parse_duration(text)
    except ValueError as exc:  # a template too: the data plane reads it as it stands
        collector.error(place, str(exc))
        return
    if retention < MIN_RETENTION:
        collector.error(place, f"conversation_retention {text!r} is under a day: write 1d or more")
        return
    timeout = spec.settings.session_timeout
    if timeout is not None and _parses(timeout) and parse_duration(timeout) > retention:
        collector.warning(
            place,
            f"conversation_retention {text!r} is shorter than session_timeout {timeout!r}: "
            "contacts are forgotten before their session ends, and session_keeps keeps "
            "nothing across; make the retention longer",
        )


def _parses(text: str) -> bool:
    try:
        parse_duration(text)
    except ValueError:
        return False
    return True


def _check_plain_texts(spec: FlowSpec, collector: IssueCollector) -> None:
    """Texts sent as written, where a `{{ }}` would reach the user as it stands."""
    # The texts of the error paths are what a user gets when something, a template included,
    # failed, so they are never rendered.
    # `llm_fallback_text` may be written per language instead (`{es: ..., en: ...}`, each
    # entry warned of on its own line).
    llm_text = spec.settings.llm_fallback_text
    texts = [("settings.error_text", spec.settings.error_text)]
    if isinstance(llm_text, dict):
        texts += [(key_path("settings.llm_fallback_text", tag), t) for tag, t in llm_text.items()]
    else:
        texts.append(("settings.llm_fallback_text", llm_text))
    for place, text in texts:
        if text is not None and is_template(text):
            collector.warning(
                place,
                "sent as written, never rendered (it is the text of a failure): the user "
                "would see the {{ }} markup; write plain text",
            )
    # The menu words are added by the channel after the turn, where no template namespace is
    # left to render them with (and a flow's own lists take `list_button` as it stands).
    words = spec.settings.menu_texts
    for name in ("list_button", "number_hint"):
        text = getattr(words, name)
        if text is not None and is_template(text):
            collector.warning(
                f"settings.menu_texts.{name}",
                f"menu_texts.{name} is sent as written, never rendered: the user would see "
                "the {{ }} markup; write plain text, or leave the key out for the built-in "
                "words of the contact's language (which settings.language can choose, e.g. "
                '"{{ data.lang }}")',
            )


def _check_session_keeps(spec: FlowSpec, collector: IssueCollector) -> None:
    keeps = spec.settings.session_keeps
    if not keeps:
        return
    if spec.settings.session_timeout is None:
        collector.warning(
            "settings.session_keeps",
            "session_keeps has nothing to keep across: without settings.session_timeout "
            "sessions never end and `data` is never emptied; set a session_timeout (e.g. 12h) "
            "or remove session_keeps",
        )
    written = data_keys_written(spec)
    # A key written with dots (`result_key: booking.slots`) counts whole and by its first part,
    # as templates read it: either may be what the author keeps.
    known = written | {key.split(".", 1)[0] for key in written} | ENGINE_DATA_KEYS
    for index, key in enumerate(keeps):
        if key in known:
            continue
        collector.warning(
            index_path("settings.session_keeps", index),
            f"session_keeps names {key!r}{did_you_mean(key, known)}, a key this flow never "
            "sets (no set_data, invoke_connector result_key, extract_suffix_as or "
            "schedule_task data writes it): a session timeout has nothing to keep under it",
        )


def _check_language(spec: FlowSpec, collector: IssueCollector) -> None:
    """A template is checked as any other; a value written as it stands can be checked whole,
    which the engine never reports (it renders the setting on every turn, and a contact who has
    not chosen a language yet is no mistake)."""
    place = "settings.language"
    text = spec.settings.language
    if text is None:
        return
    if is_template(text):
        check_templates(collector, place, text, reads_texts=False)
        return
    if not built_in_language(text):
        shown = "blank" if not text.strip() else f"{text!r}"
        collector.warning(
            place,
            f"language is {shown}, not a language the platform has words in "
            f"({', '.join(BUILT_IN_TEXTS)}, with a region or not): the menu words and the "
            "built-in apology follow the contact's or the tenant's language as without it; "
            'write one of these, a template such as "{{ data.lang }}", or leave the key out',
        )
