"""Connector names in flows: a category (its default binding) or a named binding of one,
`<category>.<name>`. A flow alone accepts any well-formed name under a known category; checked
with its tenant's bindings, a named binding the tenant lacks is an error with the name most
likely meant."""

from __future__ import annotations

import re
from textwrap import dedent
from typing import Any

import pytest

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.connector_names import (
    binding_name_problem,
    connector_category,
    is_named_binding,
    named_binding_pattern,
)
from botfleet.flows.load import load_flow_text
from botfleet.flows.schema import flow_json_schema

TENANT = frozenset({"calendar", "notification", "notification.front_desk", "notification.crm"})
PATH = "states.MENU.on_enter[0].connector"


def flow_calling(connector: str, operation: str = "send") -> str:
    return dedent(
        f"""\
        id: t
        initial_state: MENU
        states:
          MENU:
            on_enter:
              - action: invoke_connector
                connector: {connector}
                operation: {operation}
                params: {{event: booking_created}}
            transitions: [{{target: MENU}}]
        """
    )


def errors_of(text: str, **options: Any) -> list[tuple[str, str]]:
    try:
        issues: list[FlowIssue] = list(load_flow_text(text, "t.yaml", **options).warnings)
    except FlowValidationError as exc:
        issues = list(exc.issues)
    return [(i.path, i.message) for i in issues if i.severity == "error"]


# ---------------------------------------------------------------- names


def test_a_name_is_a_category_or_a_named_binding_of_one() -> None:
    assert connector_category("notification") == "notification"
    assert connector_category("notification.front_desk") == "notification"
    assert not is_named_binding("notification")
    assert is_named_binding("notification.crm")
    assert binding_name_problem("notification") is None
    assert binding_name_problem("notification.crm_2") is None
    assert binding_name_problem("calendar.chair_2") is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("notification.Front", "the name after 'notification.' must be lower_snake_case"),
        ("notification.2nd", "must be lower_snake_case"),
        ("notification.front-desk", "must be lower_snake_case"),
        ("notification.", "must be lower_snake_case"),
        ("notification.a.b", "has more than one '.'"),
        (".crm", "names no category"),
    ],
)
def test_malformed_names_say_what_a_name_looks_like(name: str, problem: str) -> None:
    found = binding_name_problem(name)

    assert found is not None and problem in found
    assert errors_of(flow_calling(name)) == [(PATH, found)]


def test_the_schema_pattern_of_a_categorys_named_bindings() -> None:
    pattern = re.compile(named_binding_pattern("notification"))
    assert pattern.match("notification.front_desk")
    assert not pattern.match("notification")
    assert not pattern.match("notification.Front")
    assert not pattern.match("calendar.front_desk")


# ---------------------------------------------------------------- a flow alone


def test_existing_flows_calling_a_category_are_unchanged() -> None:
    assert errors_of(flow_calling("notification")) == []
    assert errors_of(flow_calling("notification"), bindings=TENANT) == []


def test_a_flow_alone_accepts_any_named_binding_of_a_known_category() -> None:
    assert errors_of(flow_calling("notification.front_desk")) == []
    assert errors_of(flow_calling("calendar.chair_2", "book_appointment")) == []


def test_a_named_binding_of_an_unknown_category_suggests_the_category() -> None:
    assert errors_of(flow_calling("notifcation.crm")) == [
        (
            PATH,
            "unknown connector category 'notifcation' in 'notifcation.crm' (did you mean "
            "'notification'?) (known: calendar, mock, notification)",
        )
    ]


def test_an_unknown_bare_name_explains_how_bindings_are_named() -> None:
    assert errors_of(flow_calling("front_desk")) == [
        (
            PATH,
            "unknown connector 'front_desk' (known: calendar, mock, notification; "
            "more connectors of a category are called <category>.<name>, e.g. "
            "notification.front_desk)",
        )
    ]


def test_operations_of_a_named_binding_are_its_categorys() -> None:
    operations = {"notification": frozenset({"send"})}

    assert errors_of(flow_calling("notification.crm"), known_operations=operations) == []
    assert errors_of(flow_calling("notification.crm", "sned"), known_operations=operations) == [
        (
            "states.MENU.on_enter[0].operation",
            "unknown operation 'sned' for connector 'notification.crm' (did you mean 'send'?) "
            "(known: send)",
        )
    ]


def test_custom_categories_get_named_bindings_too() -> None:
    known = frozenset({"crm"})

    assert errors_of(flow_calling("crm.eu"), known_connectors=known) == []
    assert errors_of(flow_calling("notification.crm"), known_connectors=known)[0][1].startswith(
        "unknown connector category 'notification'"
    )


# ---------------------------------------------------------------- with the tenant's bindings


def test_with_the_tenant_a_named_binding_must_be_bound() -> None:
    assert errors_of(flow_calling("notification.front_desk"), bindings=TENANT) == []
    assert errors_of(flow_calling("notification.frontdesk"), bindings=TENANT) == [
        (
            PATH,
            "unknown connector 'notification.frontdesk' (did you mean "
            "'notification.front_desk'?): the tenant binds notification, notification.crm, "
            "notification.front_desk",
        )
    ]


def test_an_unbound_named_binding_still_has_its_operation_checked() -> None:
    # Both said in one run, not the operation once the binding's name is fixed.
    operations = {"notification": frozenset({"send"})}
    errors = errors_of(
        flow_calling("notification.frontdesk", "sned"),
        bindings=TENANT,
        known_operations=operations,
    )
    assert [path for path, _ in errors] == [PATH, "states.MENU.on_enter[0].operation"]
    assert errors[1][1].startswith(
        "unknown operation 'sned' for connector 'notification.frontdesk' (did you mean 'send'?)"
    )


def test_a_tenant_without_bindings_of_the_category_says_so() -> None:
    assert errors_of(flow_calling("notification.crm"), bindings=frozenset({"calendar"})) == [
        (PATH, "unknown connector 'notification.crm': the tenant binds no notification connector")
    ]


def test_a_bindings_name_without_its_category_suggests_the_binding() -> None:
    assert errors_of(flow_calling("front_desk"), bindings=TENANT) == [
        (
            PATH,
            "unknown connector 'front_desk' (did you mean 'notification.front_desk'?) "
            "(known: calendar, mock, notification)",
        )
    ]


def test_whether_a_bare_category_is_bound_is_left_to_the_tenant_check() -> None:
    # The boot check (`check_flow_connectors`) names the tenant key, and a conversation test
    # may give a fixture for it: the flow's own check keeps accepting it.
    assert errors_of(flow_calling("notification"), bindings=frozenset({"calendar"})) == []


def test_names_are_checked_in_tasks_and_in_flows_the_schema_rejected_in_part() -> None:
    text = dedent(
        """\
        id: t
        initial_state: MENU
        states:
          MENU:
            on_enter:
              - {action: send_text, text: hi, colour: red}
            transitions: [{target: MENU}]
        tasks:
          remind:
            - {action: invoke_connector, connector: notification.frontdesk, operation: send}
        """
    )

    found = errors_of(text, bindings=TENANT)

    assert ("tasks.remind[0].connector", found[-1][1]) in found
    assert "did you mean 'notification.front_desk'?" in found[-1][1]


def test_the_flow_schema_describes_named_bindings() -> None:
    connector = flow_json_schema()["$defs"]["InvokeConnector"]["properties"]["connector"]

    assert "<category>.<name>" in connector["description"]
    assert connector["minLength"] == 1


def test_a_name_ending_in_a_line_break_is_no_name() -> None:
    """`$` matches before a final newline: `notification.crm\\n` was stored as a binding."""
    from botfleet.control_plane.binding_schemas import binding_key_category
    from botfleet.control_plane.errors import InvalidInput

    assert binding_name_problem("notification.crm\n") is not None
    for key in ("notification.crm\n", "calendar\n"):
        with pytest.raises(InvalidInput):
            binding_key_category(key, "body.connectors")
