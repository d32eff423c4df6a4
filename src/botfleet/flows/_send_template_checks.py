"""Static checks of `send_template`: its buttons' parameters and WhatsApp's limits. Pure.

A parameter written as a template is only known once rendered, so lengths and repeats are
checked on literal values only (the engine leaves out a payload that renders empty or repeats).
"""

from __future__ import annotations

from botfleet.domain.degrade import shorten
from botfleet.flows._issues import IssueCollector
from botfleet.flows.render import is_template
from botfleet.flows.schema import MAX_TEMPLATE_BUTTONS, SendTemplate

#: Meta documents no length for a template quick reply's payload; this is the one it documents
#: for the id of an interactive reply button, which the same press returns the same way.
MAX_TEMPLATE_PAYLOAD = 256
#: A template's text header holds 60 characters, its variable's value included.
MAX_TEMPLATE_HEADER_PARAM = 60
#: A URL button's URL holds 2000 characters, the suffix included.
MAX_TEMPLATE_URL = 2000


def check_send_template(
    action: SendTemplate, path: str, collector: IssueCollector, *, templates: bool = True
) -> None:
    """`templates`: whether the tenant's channel sends templates; where it does not, the
    template's fallback text is sent and the header's length is no limit there. The errors
    stay: the flow may be given to a WhatsApp tenant later."""
    _check_payloads(action, path, collector)
    _check_titles(action, path, collector)
    _check_url_button(action, path, collector)
    header = action.header_param
    long = header is not None and len(header) > MAX_TEMPLATE_HEADER_PARAM
    if templates and header is not None and long and not is_template(header):
        collector.warning(
            f"{path}.header_param",
            f"{len(header)} characters: a WhatsApp template's header holds at most "
            f"{MAX_TEMPLATE_HEADER_PARAM}, so it gets "
            f"{shorten(header.strip(), MAX_TEMPLATE_HEADER_PARAM)!r}",
        )


def _check_payloads(action: SendTemplate, path: str, collector: IssueCollector) -> None:
    first: dict[str, int] = {}
    for index, payload in enumerate(action.button_payloads):
        where = f"{path}.button_payloads[{index}]"
        if payload is None or is_template(payload):
            continue
        if not payload.strip():
            collector.error(
                where,
                "an empty payload: WhatsApp refuses it, and with it the whole template; write "
                "null to send that button without a payload",
            )
        elif len(payload) > MAX_TEMPLATE_PAYLOAD:
            collector.error(
                where,
                f"{len(payload)} characters: a quick reply's payload is kept to "
                f"{MAX_TEMPLATE_PAYLOAD} (WhatsApp's limit for a reply button's id)",
            )
        elif payload in first:
            collector.error(
                where,
                f"duplicate quick-reply payload {payload!r} (already used by "
                f"button_payloads[{first[payload]}]): a press carries only the payload",
            )
        else:
            first[payload] = index


def _check_titles(action: SendTemplate, path: str, collector: IssueCollector) -> None:
    payloads = action.button_payloads
    for index, title in enumerate(action.button_titles):
        if title is not None and (index >= len(payloads) or payloads[index] is None):
            collector.error(
                f"{path}.button_titles[{index}]",
                f"a title for no quick reply: button_payloads[{index}] is "
                f"{'null' if index < len(payloads) else 'not given'}, and a title is shown "
                "only on a button that sends a payload",
            )


def _check_url_button(action: SendTemplate, path: str, collector: IssueCollector) -> None:
    button = action.url_button
    if button is None:
        return
    payloads = action.button_payloads
    where = f"{path}.url_button"
    index = len(payloads) if button.index is None else button.index
    if index >= MAX_TEMPLATE_BUTTONS:
        collector.error(
            f"{where}.index",
            f"no button {index}: a template has at most {MAX_TEMPLATE_BUTTONS} buttons "
            f"(0 to {MAX_TEMPLATE_BUTTONS - 1}), and {len(payloads)} are quick replies; give "
            "the URL button's `index`",
        )
    elif index < len(payloads) and payloads[index] is not None:
        collector.error(
            f"{where}.index",
            f"button {index} is a quick reply (button_payloads[{index}]): a button is either; "
            f"write null at button_payloads[{index}] if button {index} is the URL button",
        )
    suffix = button.suffix
    if is_template(suffix):
        return
    if not suffix.strip():
        collector.error(
            f"{where}.suffix",
            "an empty suffix: leave url_button out for a URL without a variable",
        )
    elif len(suffix) > MAX_TEMPLATE_URL:
        collector.error(
            f"{where}.suffix",
            f"{len(suffix)} characters: a WhatsApp template's URL holds at most "
            f"{MAX_TEMPLATE_URL}, the suffix included",
        )
