"""What a flow author met walking through the tools with docs/authoring.md alone (a bakery bot):
a file of the wrong kind given to a command, a file that is not UTF-8, a typo in `:wait`, a
misspelt task in a test, `--help` paragraphs cut in the middle, and JSON Schemas that VS Code's
YAML extension read wrongly (documented shorthands flagged as errors, no hover text)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from cli_helpers import Invoke
from typer.testing import CliRunner

from botfleet.cli.main import app

Write = Callable[[str, str], Path]

FLOW = """\
id: shop_v1
initial_state: MENU
tasks:
  reminder:
    - action: send_text
      text: "Your cake is ready tomorrow."
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Hi!"
        buttons: [{id: order, title: Order}]
    transitions:
      - on_payload: order
        target: ORDERED
    fallback: MENU
  ORDERED:
    on_enter:
      - action: schedule_task
        task: reminder
        delay: 1d
      - action: send_text
        text: "Ordered."
    next: MENU
"""

TENANT = """\
tenant_id: shop
flow_path: shop.yaml
channel: {type: webchat}
"""

TEST = """\
tenant: ../tenant.yaml
steps:
  - say: hi
  - press: order
    tasks: [remindr]
"""


@pytest.fixture
def shop(write: Write) -> Path:
    write("shop/shop.yaml", FLOW)
    write("shop/tests/order.yaml", TEST)
    return write("shop/tenant.yaml", TENANT).parent


# ------------------------------------------------------------ a file of the wrong kind


@pytest.mark.parametrize("command", ["graph", "chat"])
def test_a_conversation_test_given_for_a_flow_is_named_as_one(
    invoke: Invoke, shop: Path, command: str
) -> None:
    test = shop / "tests" / "order.yaml"
    result = invoke(command, test, input="")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{test}:1: a conversation test, not a flow or tenant file: run it with "
        f"`botfleet test {test}`; its tenant: botfleet {command} {shop / 'tenant.yaml'}\n"
    )


@pytest.mark.parametrize("command", ["graph", "chat"])
def test_a_folder_given_for_a_flow_points_at_its_tenant_file(
    invoke: Invoke, shop: Path, command: str
) -> None:
    result = invoke(command, shop, input="")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{shop}: a folder: give a flow or tenant file (botfleet {command} "
        f"{shop / 'tenant.yaml'})\n"
    )


@pytest.mark.parametrize(
    ("name", "kind", "key"),
    [("shop.yaml", "a flow", "flow"), ("tenant.yaml", "a tenant file", "tenant")],
)
def test_a_flow_or_tenant_given_to_test_is_named_as_one(
    invoke: Invoke, shop: Path, name: str, kind: str, key: str
) -> None:
    result = invoke("test", shop / name)
    assert result.exit_code == 1
    assert "unknown key" not in result.stdout  # not read as a broken test
    assert (
        f"{shop / name}:1: {kind}, not a conversation test: check it with `botfleet validate "
        f"{shop / name}`; a test runs it with `{key}: <its path from the test file>`"
    ) in result.stdout


# ------------------------------------------------------------ not UTF-8


def test_a_file_that_is_not_utf8_is_located_by_validate(invoke: Invoke, tmp_path: Path) -> None:
    flow = tmp_path / "latin1.yaml"
    flow.write_bytes(FLOW.replace('"Hi!"', '"¡Hola!"').encode("latin-1"))
    line = FLOW.splitlines().index('        body: "Hi!"') + 1
    result = invoke("validate", flow, "--format", "json")
    assert result.exit_code == 1
    issue = json.loads(result.stdout)["issues"][0]
    assert issue["line"] == line
    assert issue["message"] == (
        f"not UTF-8 text: byte 0xa1 at line {line}, column 16 (invalid start byte); "
        "save the file as UTF-8"
    )
    assert f"{flow}:{line}: not UTF-8 text" in invoke("validate", flow).stderr


def test_a_test_that_is_not_utf8_is_located(invoke: Invoke, shop: Path) -> None:
    test = shop / "tests" / "order.yaml"
    test.write_bytes(TEST.replace("say: hi", "say: olé").encode("latin-1"))
    result = invoke("test", test)
    assert result.exit_code == 1
    assert f"{test}:3: not UTF-8 text: byte 0xe9 at line 3, column 12" in result.stdout


# ------------------------------------------------------------ chat and test messages


def test_a_wrong_wait_in_chat_is_said_as_other_typos(invoke: Invoke, shop: Path) -> None:
    result = invoke("chat", shop / "tenant.yaml", input=":wait forever\n:wait 1h\n")
    assert result.exit_code == 0, result.output
    assert "you> :wait forever\nerror: invalid duration 'forever': expected" in result.stdout
    assert "ValueError" not in result.output
    assert "(now " in result.stdout  # the chat went on


def test_a_misspelt_task_in_a_test_is_said_to_be_unknown(invoke: Invoke, shop: Path) -> None:
    result = invoke("test", shop / "tests")
    assert result.exit_code == 1
    assert (
        "tasks: expected ['remindr'], scheduled ['reminder']; the flow has no task 'remindr' "
        "(did you mean 'reminder'?)"
    ) in result.stdout


# ------------------------------------------------------------ --help


def _commands(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, command in getattr(group, "commands", {}).items():
        yield prefix + name, command
        yield from _commands(command, f"{prefix}{name} ")


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("command", [c for _, c in COMMANDS], ids=[n for n, _ in COMMANDS])
def test_help_paragraphs_are_not_cut_into_lines(command: Any) -> None:
    # Typer's help keeps a paragraph's line breaks: a docstring wrapped at 100 columns read
    # "...with mock connectors, a scripted LLM and a frozen" / "clock, in strict...".
    for paragraph in (command.help or "").split("\n\n"):
        lines = paragraph.split("\n")
        is_list = any(line[:1].isspace() or line.startswith("-") for line in lines[1:])
        assert len(lines) == 1 or is_list or paragraph.startswith("\b"), paragraph


def test_help_shows_a_paragraph_whole() -> None:
    result = CliRunner().invoke(app, ["test", "--help"], env={"COLUMNS": "200"})
    assert "with mock connectors, a scripted LLM and a frozen clock, in strict template mode" in (
        result.stdout
    )


# ------------------------------------------------------------ JSON Schemas for editors


def _schema(invoke: Invoke, kind: str) -> dict[str, Any]:
    result = invoke("schema", kind)
    assert result.exit_code == 0, result.output
    schema: dict[str, Any] = json.loads(result.stdout)
    return schema


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _accepts_string(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" or any(
        _accepts_string(b) for b in schema.get("anyOf", [])
    )


def test_the_test_schema_takes_the_documented_shorthands(invoke: Invoke) -> None:
    # `expect: "Hi!"`, `expect: ["Hi!", {type: buttons}]`, `notified: handoff_requested`: the
    # loader reads them, and VS Code flagged them ("Incorrect type. Expected
    # OutputExpectation") in 35 of the 37 tests of this repository.
    step = _schema(invoke, "test")["$defs"]["StepSpec"]["properties"]
    for key, ref in (("expect", "OutputExpectation"), ("notified", "NotificationExpectation")):
        branches = step[key]["anyOf"]
        assert {"type": "string"} in branches
        assert {"$ref": f"#/$defs/{ref}"} in branches
        listed = next(b for b in branches if b.get("type") == "array")
        assert _accepts_string(listed["items"])
        assert {"$ref": f"#/$defs/{ref}"} in listed["items"]["anyOf"]


def test_the_test_schema_takes_a_clock_without_offset(invoke: Invoke) -> None:
    # `format: date-time` is RFC 3339, which VS Code checks: 2024-05-06T09:00 was an error.
    clock = _schema(invoke, "test")["properties"]["clock"]
    assert "format" not in clock
    for written in ("2024-05-06T09:00", "2024-05-06 09:00", "2024-05-06T09:00:00+02:00"):
        assert re.search(clock["pattern"], written), written
    assert not re.search(clock["pattern"], "tomorrow")


def test_every_key_of_a_test_has_hover_text(invoke: Invoke) -> None:
    schema = _schema(invoke, "test")
    objects = [schema, *schema["$defs"].values()]
    missing = [
        f"{o.get('title')}.{key}"
        for o in objects
        for key, prop in o.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == []


@pytest.mark.parametrize("kind", ["flow", "tenant", "test"])
def test_optional_keys_are_nullable_types_not_anyof_null(invoke: Invoke, kind: str) -> None:
    # VS Code's YAML extension showed `anyOf: [{type: string}, {type: null}]` on hover as the
    # branches' titles ("Say || Say") instead of the key's description.
    simple = [
        node
        for node in _nodes(_schema(invoke, kind))
        if {"type": "null"} in node.get("anyOf", [])
        and len(node["anyOf"]) == 2
        and all("$ref" not in b and "anyOf" not in b for b in node["anyOf"])
    ]
    assert simple == []


def test_the_tenant_schema_completes_the_channel(invoke: Invoke) -> None:
    schema = _schema(invoke, "tenant")
    channel = schema["properties"]["channel"]
    assert set(channel["discriminator"]["mapping"]) == {
        "webchat",
        "http_dev",
        "whatsapp",
        "telegram",
    }
    whatsapp = schema["$defs"]["channel_whatsapp"]
    assert whatsapp["additionalProperties"] is False  # a misspelt key is flagged
    assert "phone_number_id" in whatsapp["properties"]
    # Secrets may be left out (the control plane's credentials), as `validate` only warns.
    assert whatsapp["required"] == ["type", "phone_number_id"]
    assert schema["$defs"]["channel_telegram"]["required"] == ["type"]
