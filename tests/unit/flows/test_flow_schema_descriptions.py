"""The flow format's JSON Schema is what editors show and complete: every key has a description
for flow authors, closed sets of values (`on_type`, a category's operations) are listed, and a
wrong value still gets a located message listing the allowed ones, with the one meant."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from textwrap import dedent
from typing import Any

import pytest

from botfleet.cli.schemas import schema_text
from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.connector_categories import CATEGORY_OPERATIONS
from botfleet.flows.load import load_flow_text
from botfleet.flows.schema import MESSAGE_TYPES, flow_json_schema

KNOWN_TYPES = ", ".join(MESSAGE_TYPES)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """What editors get: `botfleet schema flow`, committed as schemas/flow.schema.json."""
    exported: dict[str, Any] = json.loads(schema_text("flow"))
    assert exported["$defs"].keys() == flow_json_schema()["$defs"].keys()
    return exported


def models(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "(top level)", schema
    yield from schema["$defs"].items()


def descriptions(schema: dict[str, Any]) -> list[str]:
    found = []
    for _, model in models(schema):
        found += [model.get("description", "")]
        found += [p.get("description", "") for p in model.get("properties", {}).values()]
    return [d for d in found if d]


def test_every_key_of_every_model_has_a_description(schema: dict[str, Any]) -> None:
    bare = [
        f"{name}.{key}"
        for name, model in models(schema)
        for key, prop in model.get("properties", {}).items()
        if not prop.get("description", "").strip()
    ]
    assert bare == []
    keys = sum(len(model.get("properties", {})) for _, model in models(schema))
    assert keys >= 84  # every key of the format, the top level's included


def test_every_model_says_what_it_is(schema: dict[str, Any]) -> None:
    assert [name for name, model in models(schema) if not model.get("description")] == []


@pytest.mark.parametrize(
    "jargon",
    [r"botfleet\.", r"\.py\b", r"\bpydantic\b", r"\bDSL\b", r"\(ours\)", r"_checks\b", r"\bspec\b"],
)
def test_descriptions_are_written_for_flow_authors(schema: dict[str, Any], jargon: str) -> None:
    assert [d for d in descriptions(schema) if re.search(jargon, d)] == []


def test_on_type_is_completed_from_the_message_types(schema: dict[str, Any]) -> None:
    on_type = schema["$defs"]["Transition"]["properties"]["on_type"]
    assert [v for v in on_type["enum"] if v is not None] == list(MESSAGE_TYPES)
    assert all(t in on_type["description"] for t in MESSAGE_TYPES)


def test_a_categorys_operations_are_completed_once_the_connector_is_known(
    schema: dict[str, Any],
) -> None:
    invoke = schema["$defs"]["InvokeConnector"]
    listed = {
        rule["if"]["properties"]["connector"]["pattern"]: rule["then"]["properties"]["operation"]
        for rule in invoke["allOf"]
    }
    assert listed == {
        rf"^{category}(\..+)?$": {"enum": sorted(operations)}
        for category, operations in CATEGORY_OPERATIONS.items()
    }
    for pattern in listed:  # the category and its named bindings, nothing else
        assert re.match(pattern, "notification.orders") or re.match(pattern, "calendar")
        assert not re.match(pattern, "calendars")
    assert invoke["properties"]["connector"]["examples"] == sorted(CATEGORY_OPERATIONS)


def test_editors_that_check_the_schema_refuse_a_categorys_unknown_operation(
    schema: dict[str, Any],
) -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    validator = jsonschema_rs.validator_for(schema)

    def flow(connector: str, operation: str) -> dict[str, Any]:
        action = {"action": "invoke_connector", "connector": connector, "operation": operation}
        return {"id": "f", "initial_state": "A", "states": {"A": {"on_enter": [action]}}}

    assert validator.is_valid(flow("notification.orders", "send"))
    assert validator.is_valid(flow("calendar", "book_appointment"))
    assert validator.is_valid(flow("mock", "anything"))  # the scripted mock's are its own
    assert not validator.is_valid(flow("notification.orders", "sned"))
    assert not validator.is_valid(flow("calendar", "book_apointment"))
    bad_type = {"id": "f", "initial_state": "A", "states": {"A": {"transitions": []}}}
    bad_type["states"]["A"]["transitions"] = [{"on_type": "butto", "target": "A"}]
    assert not validator.is_valid(bad_type)


# ---------------------------------------------------------------- errors stay as clear


def issues(text: str) -> list[FlowIssue]:
    with pytest.raises(FlowValidationError) as raised:
        load_flow_text(dedent(text), "flows/x.yaml")
    return list(raised.value.issues)


def transition(on_type: str) -> str:
    return f"""\
        id: x
        initial_state: A
        states:
          A:
            transitions:
              - {{on_type: {on_type}, target: A}}
            fallback: A
        """


def test_an_unknown_message_type_is_located_lists_the_types_and_suggests_one() -> None:
    (issue,) = issues(transition("butto"))
    assert str(issue) == (
        "flows/x.yaml:6 states.A.transitions[0].on_type: unknown message type 'butto' "
        f"(did you mean 'button'?) (known: {KNOWN_TYPES})"
    )


@pytest.mark.parametrize(
    ("value", "got"), [("2", "the number 2"), ("[text]", "a list"), ("yes", "true")]
)
def test_a_message_type_of_another_kind_is_located_and_lists_the_types(
    value: str, got: str
) -> None:
    (issue,) = issues(transition(value))
    assert (issue.line, issue.path) == (6, "states.A.transitions[0].on_type")
    assert issue.message == f"expected a message type, got {got} (known: {KNOWN_TYPES})"


def test_no_description_leaks_into_an_error_message(schema: dict[str, Any]) -> None:
    found = issues(
        """\
        id: x
        initial_state: A
        states:
          A:
            on_enter:
              - {action: send_text, text: 2}
              - {action: send_interactive_buttons, body: Hi, buttons: [{id: a, titel: A}]}
              - {action: invoke_connector, connector: calendar, operation: 5}
              - {action: schedule_task, task: t}
              - {action: send_txt, text: hi}
            transitions:
              - {on_type: picture, target: A, on_payload: [a]}
            fallback: A
            llm_fallback: maybe
        settings: {debounce_ms: soon, menu_texts: {list_button: " "}}
        standing_schedules: [{task: t}]
        tasks: {t: []}
        """
    )
    assert len(found) >= 10
    texts = [d for d in descriptions(schema) if len(d) > 20]
    leaked = [(i.message, d) for i in found for d in texts if d in i.message or i.message in d]
    assert leaked == []
