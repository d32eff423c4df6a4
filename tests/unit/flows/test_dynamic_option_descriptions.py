"""`send_dynamic_options`' `description`: each item's second line written by the flow, rendered
once per item with the item as `item` (a restaurant's "3 mesas libres" in place of the
calendar's "Quedan 3 plazas")."""

from __future__ import annotations

import asyncio
from textwrap import dedent
from typing import Any

import pytest

from botfleet.domain.errors import FlowIssue, FlowValidationError, TemplateError
from botfleet.domain.outputs import Buttons, ListMenu, Option
from botfleet.flows.effects import Diagnostic
from botfleet.flows.load import load_flow_text
from botfleet.flows.render import Renderer
from botfleet.testing.engine import Conversation, Exchange, flow_from_yaml
from botfleet.testing.runtime import make_tenant_config
from botfleet.testing.sandbox import open_sandbox, sandbox_config, tenant_flow

TABLES = "{% if item.places_left is defined %}{{ item.places_left }} mesas libres{% endif %}"
WHERE = "states.SLOTS.on_enter[0].description"


def flow(description: str) -> str:
    return dedent(
        f"""\
        id: tables_v1
        initial_state: MENU
        states:
          MENU:
            transitions:
              - {{on_payload: book, target: SLOTS}}
            fallback: MENU
          SLOTS:
            on_enter:
              - action: send_dynamic_options
                source_key: slots
                text: "Pick a time"
                button_label: "Times"
                description: {description!r}
            transitions:
              - {{on_payload_prefix: hour_, target: MENU}}
            fallback: SLOTS
        """
    )


def offer(description: str, slots: Any, *, strict: bool = False) -> Exchange:
    chat = Conversation(flow_from_yaml(flow(description)), strict=strict)
    return chat.with_data(slots=slots).press("book")


SLOTS = [
    {"id": "hour_1300", "title": "13:00", "places_left": 3, "description": "Quedan 3 plazas"},
    {"id": "hour_1400", "title": "14:00", "places_left": 1, "description": "Queda 1 plaza"},
]


# ---------------------------------------------------------------- rendering


def test_the_rendered_description_replaces_each_item_s_own() -> None:
    exchange = offer(TABLES, SLOTS)
    [output] = exchange.outputs
    assert isinstance(output, ListMenu)
    assert output.options == (
        Option("hour_1300", "13:00", "3 mesas libres"),
        Option("hour_1400", "14:00", "1 mesas libres"),
    )
    assert exchange.diagnostics == ()


def test_a_blank_rendering_means_no_description_so_few_items_go_as_buttons() -> None:
    slots = [
        {"id": "hour_1300", "title": "13:00", "description": "Quedan 3 plazas"},
        {"id": "hour_1400", "title": "14:00", "description": "Queda 1 plaza"},
    ]
    exchange = offer(TABLES, slots)
    # Without the template, the items' own descriptions would make them a list.
    assert exchange.outputs == (
        Buttons("Pick a time", (Option("hour_1300", "13:00"), Option("hour_1400", "14:00"))),
    )
    assert exchange.diagnostics == ()


def test_only_the_items_it_renders_for_get_a_description() -> None:
    slots = [{"id": "hour_1300", "title": "13:00", "places_left": 2}, "hour_1400"]
    [output] = offer(TABLES, slots).outputs
    assert isinstance(output, ListMenu)
    assert output.options == (
        Option("hour_1300", "13:00", "2 mesas libres"),
        Option("hour_1400", "hour_1400", ""),
    )


def test_a_missing_item_value_warns_once_for_the_action_and_renders_empty() -> None:
    exchange = offer("{{ item.places_left }} mesas libres", [*SLOTS, {"id": "h", "title": "H"}])
    [output] = exchange.outputs
    assert isinstance(output, ListMenu)
    assert [o.description for o in output.options] == [
        "3 mesas libres",
        "1 mesas libres",
        "mesas libres",
    ]
    assert exchange.diagnostics == (
        Diagnostic("warning", "template_missing_value", WHERE, "missing value 'places_left'"),
    )
    assert offer("{{ item.places_left }}", [{"id": "a"}, {"id": "b"}]).diagnostics == (
        Diagnostic("warning", "template_missing_value", WHERE, "missing value 'places_left'"),
    )


def test_a_missing_item_value_fails_a_strict_turn() -> None:
    with pytest.raises(TemplateError, match="places_left"):
        offer("{{ item.places_left }} mesas libres", [{"id": "h", "title": "H"}], strict=True)


def test_the_description_reads_the_turn_s_namespaces_too() -> None:
    chat = Conversation(flow_from_yaml(flow("{{ item.title }} · {{ data.room }}")))
    [output] = chat.with_data(slots=SLOTS, room="terraza").press("book").outputs
    assert isinstance(output, ListMenu)
    assert [o.description for o in output.options] == ["13:00 · terraza", "14:00 · terraza"]


def test_a_renderer_with_names_reads_them_and_reports_to_its_sink() -> None:
    turn_sink: list[Diagnostic] = []
    r = Renderer({"data": {"x": 1}}, sink=turn_sink)
    own: list[Diagnostic] = []
    scoped = r.with_names({"item": {"n": 2}}, sink=own)
    assert scoped.text("{{ data.x }}/{{ item.n }}/{{ item.m }}", "w") == "1/2/"
    assert [d.detail for d in own] == ["missing value 'm'"]
    assert turn_sink == []
    assert r.text("{{ item }}", "w") == ""  # the turn's own renderer has no `item`


# ---------------------------------------------------------------- validator


def issues_of(text: str) -> list[FlowIssue]:
    try:
        return list(load_flow_text(text, "t.yaml").warnings)
    except FlowValidationError as exc:
        return list(exc.issues)


def test_the_validator_knows_item_in_the_description() -> None:
    # Nothing in this flow sets `data.slots`: that is its only issue.
    assert [(i.severity, i.path) for i in issues_of(flow(TABLES))] == [
        ("warning", "states.SLOTS.on_enter[0].source_key")
    ]


def test_the_validator_checks_the_description_as_a_template() -> None:
    [typo] = [i for i in issues_of(flow("{{ iten.places_left }}")) if i.severity == "error"]
    assert typo.path == WHERE
    assert typo.message.startswith("unknown name 'iten' (did you mean 'item'?)")
    [broken] = [i for i in issues_of(flow("{{ item.places_left }")) if i.severity == "error"]
    assert broken.path == WHERE
    assert broken.message.startswith("template syntax error")


def test_item_is_unknown_in_the_action_s_other_templates_and_elsewhere() -> None:
    text = flow(TABLES).replace('text: "Pick a time"', 'text: "{{ item.title }}"')
    [error] = [i for i in issues_of(text) if i.severity == "error"]
    assert error.path == "states.SLOTS.on_enter[0].text"
    assert "unknown name 'item'" in error.message
    assert "`item` only in send_dynamic_options' `description`" in error.message


def test_a_literal_description_is_measured_as_a_list_row_s() -> None:
    long = "x" * 73
    [warning] = [i for i in issues_of(flow(long)) if i.path == WHERE]
    assert warning.severity == "warning"
    assert warning.message.startswith("73 characters: WhatsApp shows at most 72")
    assert [i for i in issues_of(flow("x" * 72)) if i.path == WHERE] == []


# ---------------------------------------------------------------- through the sandbox

RESTAURANT_FLOW: dict[str, Any] = {
    "id": "restaurant_v1",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "calendar",
                    "operation": "get_slots_for_day",
                    "params": {"date_str": "2024-05-07"},
                    "result_key": "slots",
                },
                {
                    "action": "send_dynamic_options",
                    "source_key": "slots",
                    "text": "¿A qué hora?",
                    "description": TABLES,
                    "empty_text": "Completo",
                },
            ],
            "transitions": [{"on_payload_prefix": "hour_", "target": "MENU"}],
            "fallback": "MENU",
        }
    },
}


def test_a_calendar_with_capacity_offers_tables_in_the_flow_s_words() -> None:
    calendar = {
        "type": "mock_calendar",
        "schedule": {"tue": ["13:00-15:00"]},
        "slot_duration_min": 60,
        "capacity": 4,
    }
    config = make_tenant_config(RESTAURANT_FLOW, language="es", connectors={"calendar": calendar})

    async def scenario() -> list[Any]:
        async with open_sandbox(sandbox_config(config, tenant_flow(config).spec)) as bot:
            return await bot.say("hola")

    [output] = asyncio.run(scenario())
    assert isinstance(output, ListMenu)
    assert [(o.title, o.description) for o in output.options] == [
        ("13:00", "4 mesas libres"),
        ("14:00", "4 mesas libres"),
    ]


def test_the_items_share_one_template_s_work() -> None:
    # The items are as many as a connector (or the data) makes them: a costly description
    # rendered per item must not cost its whole budget that many times over.
    heavy = "{% for a in range(200) %}{% for b in range(200) %}{% endfor %}{% endfor %}x"
    many = [{"id": f"hour_{n}", "title": f"{n}"} for n in range(1000)]
    exchange = offer(heavy, many)
    [menu] = exchange.outputs
    assert isinstance(menu, ListMenu)
    described = [o.description for o in menu.sections[0].rows]
    assert described[0] == "x"  # the first fits in the budget
    assert described[-1] == ""  # later ones found it spent
    assert [d.event for d in exchange.diagnostics] == ["template_failed"]
