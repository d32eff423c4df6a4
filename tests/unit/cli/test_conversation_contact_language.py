"""A conversation test's `contact.language` reaches the bot only on a channel that sends one.

Served, only Telegram tells a contact's language; on the web chat and WhatsApp
`contact.language` is the tenant's `language`. A test giving one on its own channel that never
sends one is an error (it would pass in a language the tenant's contacts never get); on a
channel asked with `--channel`, it runs without it, with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cli_helpers import Invoke

from botfleet.testing.conversation import run_conversation_test
from botfleet.testing.runtime import make_tenant_config
from botfleet.testing.sandbox import Contact, open_sandbox, sandbox_config, tenant_flow
from botfleet.testing.sandbox_channels import sandbox_channel

Write = Callable[[str, str], Path]

FLOW = """\
id: lang_v1
initial_state: START
states:
  START:
    on_enter:
      - action: send_text
        text: "lang={{ contact.language }}"
    fallback: START
"""
SPANISH_CONTACT = """\
{subject}
contact: {{id: c1, language: es}}
steps:
  - say: hi
    expect: ["lang={expected}"]
"""


def tenant(write: Write, channel: str) -> str:
    write("lang.yaml", FLOW)
    write("tenant.yaml", f"tenant_id: t1\nlanguage: en\nflow_path: lang.yaml\n{channel}")
    return "tenant: tenant.yaml"


async def test_a_language_on_a_web_chat_tenant_is_an_error_naming_the_line(write: Write) -> None:
    subject = tenant(write, "channel: {type: webchat}\n")
    test = write("case.yaml", SPANISH_CONTACT.format(subject=subject, expected="es"))
    result = await run_conversation_test(test)
    assert result.status == "error"
    assert result.message == (
        f"{test}:2 contact.language: webchat never sends a contact's language (only telegram "
        "does): its contacts get the tenant's `language` ('en') as `contact.language`, so a "
        "test giving 'es' would pass in a language they never get: leave it out (to test a "
        "contact's own language, test it with a Telegram tenant)"
    )


async def test_a_tenant_with_telegram_beside_is_told_to_name_that_channel(
    write: Write,
) -> None:
    """Not "test it with a Telegram tenant": it is one, on another of its channels."""
    subject = tenant(
        write,
        'channel: {type: webchat}\nmore_channels: [{type: telegram, bot_token: "123456:ABCDEF"}]\n',
    )
    test = write("case.yaml", SPANISH_CONTACT.format(subject=subject, expected="es"))
    result = await run_conversation_test(test)
    assert result.status == "error"
    assert result.message.endswith(
        "(to test a contact's own language, give the test `channel: telegram`)"
    )


async def test_without_a_language_a_web_chat_contact_gets_the_tenants(write: Write) -> None:
    subject = tenant(write, "channel: {type: webchat}\n")
    test = write("case.yaml", f"{subject}\nsteps:\n  - say: hi\n    expect: [lang=en]\n")
    result = await run_conversation_test(test)
    assert result.status == "passed", result.message
    assert result.warnings == ()


@pytest.mark.parametrize("channel", ["whatsapp", "webchat"])
async def test_on_another_channel_asked_the_test_runs_without_it_with_a_warning(
    write: Write, channel: str
) -> None:
    # A Telegram tenant's suite run as its contacts on `channel` would be: no language.
    subject = tenant(write, 'channel: {type: telegram, bot_token: "123456:ABCDEF"}\n')
    test = write("case.yaml", SPANISH_CONTACT.format(subject=subject, expected="en"))
    result = await run_conversation_test(test, channel=channel)
    assert result.status == "passed", result.message
    assert result.warnings == (
        f"{test}:2 contact.language: [warning] {channel} never sends a contact's language "
        "(only telegram does): its contacts get the tenant's `language` ('en') as "
        "`contact.language`, so the test runs without 'es'",
    )


async def test_a_telegram_tenants_contact_has_the_language_of_the_test(write: Write) -> None:
    subject = tenant(write, 'channel: {type: telegram, bot_token: "123456:ABCDEF"}\n')
    test = write("case.yaml", SPANISH_CONTACT.format(subject=subject, expected="es"))
    result = await run_conversation_test(test)
    assert result.status == "passed", result.message
    assert result.warnings == ()


async def test_a_flow_test_is_on_the_web_chat_so_its_language_needs_telegram(
    write: Write,
) -> None:
    write("lang.yaml", FLOW)
    test = write("case.yaml", SPANISH_CONTACT.format(subject="flow: lang.yaml", expected="es"))
    result = await run_conversation_test(test)
    assert result.status == "error"
    assert result.message.endswith("(to test a contact's own language, run the test with "
                                   "`--channel telegram`)")  # fmt: skip
    assert (await run_conversation_test(test, channel="telegram")).passed


@pytest.mark.parametrize(("channel", "expected"), [("webchat", "en"), ("whatsapp", "en"),
                                                   ("telegram", "es")])  # fmt: skip
async def test_the_sandbox_sends_the_language_only_where_the_channel_does(
    channel: str, expected: str
) -> None:
    config = make_tenant_config(yaml.safe_load(FLOW), language="en")
    mocked = sandbox_config(config, tenant_flow(config).spec)
    on = sandbox_channel(channel)
    async with open_sandbox(mocked, contact=Contact("c1", language="es"), channel=on) as bot:
        [said] = await bot.say("hi")
    assert getattr(said, "text", None) == f"lang={expected}"


def test_the_command_prints_the_warning_and_junit_keeps_it(
    invoke: Invoke, write: Write, tmp_path: Path
) -> None:
    subject = tenant(write, 'channel: {type: telegram, bot_token: "123456:ABCDEF"}\n')
    test = write("case.yaml", SPANISH_CONTACT.format(subject=subject, expected="en"))
    junit = tmp_path / "junit.xml"
    result = invoke("test", test, "--channel", "whatsapp", "--junit", junit)
    assert result.exit_code == 0, result.output
    warning = f"{test}:2 contact.language: [warning] whatsapp never sends"
    assert f"PASS  case  ({test}, 1 step)\n      {warning}" in result.stdout
    assert f"<system-err>{warning}" in junit.read_text(encoding="utf-8")
