"""The `send_template` action rendered into a `TemplateMessage`. Pure."""

from __future__ import annotations

from botfleet.domain.outputs import QUICK_REPLY, URL_BUTTON, TemplateButton, TemplateMessage
from botfleet.flows import schema
from botfleet.flows.render import Renderer, is_template
from botfleet.flows.turn import TurnBuilder


def template_message(
    turn: TurnBuilder, r: Renderer, action: schema.SendTemplate, where: str
) -> TemplateMessage:
    """Every field rendered; quick replies whose payload renders empty or repeats are left out
    with a `bad_option_id` warning, as options are (`actions._options`)."""
    params = tuple(
        _param_text(r.value(p, f"{where}.params[{i}]")) for i, p in enumerate(action.params)
    )
    header = action.header_param
    return TemplateMessage(
        r.text(action.name, f"{where}.name"),
        r.text(action.language, f"{where}.language"),
        params,
        r.text(action.fallback_text, f"{where}.fallback_text"),
        header_param=None if header is None else r.text(header, f"{where}.header_param"),
        buttons=(*_quick_replies(turn, r, action, where), *_url_button(r, action, where)),
    )


def _param_text(value: object) -> str:
    """A template parameter as the user reads it: a null is empty, as when it is printed."""
    return "" if value is None else str(value)


def _quick_replies(
    turn: TurnBuilder, r: Renderer, action: schema.SendTemplate, where: str
) -> list[TemplateButton]:
    buttons: list[TemplateButton] = []
    seen: set[str] = set()
    titles = action.button_titles
    for index, written in enumerate(action.button_payloads):
        if written is None:  # a button of the template this flow gives no payload
            continue
        path = f"{where}.button_payloads[{index}]"
        payload = r.text(written, path) if is_template(written) else written
        if not payload.strip() or payload in seen:
            # Sent empty, Graph would refuse the whole reminder: left out, the button goes
            # without a parameter. A repeat could not be told apart from the first by the press.
            problem = "rendered empty" if not payload.strip() else f"{payload!r} repeats"
            detail = f"quick-reply payload {written!r} {problem}; it is left out"
            turn.diagnose("warning", "bad_option_id", path, detail)
            continue
        seen.add(payload)
        title = titles[index] if index < len(titles) else None
        shown = "" if title is None else r.text(title, f"{where}.button_titles[{index}]")
        buttons.append(TemplateButton(index, QUICK_REPLY, payload, shown))
    return buttons


def _url_button(r: Renderer, action: schema.SendTemplate, where: str) -> list[TemplateButton]:
    button = action.url_button
    if button is None:
        return []
    index = len(action.button_payloads) if button.index is None else button.index
    suffix = r.text(button.suffix, f"{where}.url_button.suffix")
    return [TemplateButton(index, URL_BUTTON, suffix)]


__all__ = ["template_message"]
