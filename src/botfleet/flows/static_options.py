"""The titles of the options a flow writes out in full (buttons and list rows whose id and
title are plain text), by id. Pure.

A press normally finds its title among the options last shown (`matching._titled`). When
those are gone (a task's message cleared them, the provider sent the press without its label)
the flow's own options still name it, so `message.option_title` and the LLM's history read
"English", not "lang_en". An id written with two different titles names neither.
"""

from __future__ import annotations

from botfleet.flows._spec_walk import iter_actions
from botfleet.flows.per_flow import PerFlow
from botfleet.flows.render import is_template
from botfleet.flows.schema import FlowSpec, OptionSpec, SendButtons, SendList


def static_option_title(flow: FlowSpec, option_id: str) -> str | None:
    """The title the flow gives the option `option_id` wherever it writes it, else None."""
    return _TITLES(flow).get(option_id)


def _titles(flow: FlowSpec) -> dict[str, str]:
    found: dict[str, str | None] = {}
    for _, action in iter_actions(flow):
        options: list[OptionSpec] = []
        if isinstance(action, SendButtons):
            options = list(action.buttons)
        elif isinstance(action, SendList):
            options = [row for section in action.sections for row in section.rows]
        for option in options:
            title = option.title.strip()
            if is_template(option.id) or is_template(title) or not title:
                continue
            found[option.id] = title if found.get(option.id, title) == title else None
    return {key: title for key, title in found.items() if title is not None}


#: Each flow's table, built once (`per_flow`).
_TITLES: PerFlow[dict[str, str]] = PerFlow(_titles)
