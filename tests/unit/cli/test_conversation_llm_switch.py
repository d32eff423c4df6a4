"""A tenant's LLM in conversation tests and `botfleet validate`: off unless the tenant enables it.

Served (and in `botfleet chat`) a tenant whose LLM is not enabled never asks it, whatever its
`connectors.llm` binding: a test scripting LLM answers for such a tenant fails saying so, and
`botfleet validate` warns about a flow's `llm_fallback: true` states under it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import Invoke

from botfleet.adapters.llm.options import llm_options
from botfleet.flows.tenant_file import read_tenant_file
from botfleet.testing.conversation import run_conversation_test
from botfleet.testing.sandbox import sandbox_config

Write = Callable[[str, str], Path]

FLOW = """\
id: faq_v1
initial_state: MENU
states:
  MENU:
    llm_fallback: {fallback}
    on_enter:
      - action: send_text
        text: "Hi!"
    fallback: MENU
"""
TENANT = """\
tenant_id: shop
flow_path: faq.yaml
knowledge: We are open 9 to 5.
connectors:
  llm: {{type: mock_llm{binding}}}
{llm}"""
TEST = """\
tenant: tenant.yaml
llm: ["We are open 9 to 5."]
steps:
  - say: hello
  - say: when are you open?
    expect: ["We are open 9 to 5."]
"""


def write_tenant(write: Write, *, llm: str = "", binding: str = "", fallback: bool = True) -> Path:
    write("faq.yaml", FLOW.format(fallback=str(fallback).lower()))
    return write("tenant.yaml", TENANT.format(llm=llm, binding=binding))


async def test_scripted_answers_for_a_tenant_whose_llm_is_off_fail_saying_so(
    write: Write,
) -> None:
    tenant = write_tenant(write)
    test = write("case.yaml", TEST)
    result = await run_conversation_test(test)
    assert result.status == "failed"
    assert result.message == (
        f"{test}:2 llm: the test scripts LLM answers, but the tenant's LLM is not enabled, so "
        "the bot never asks it (as served, and as `botfleet chat`): add `llm: {enabled: true}` "
        f"to {tenant} (`connectors.llm` only picks the provider), or take the answers out of "
        "the test"
    )


@pytest.mark.parametrize(
    ("llm", "binding"),
    [("llm: {enabled: true}\n", ""), ("", ", enabled: true")],
    ids=["llm.enabled", "connectors.llm.enabled"],
)
async def test_a_tenant_whose_llm_is_on_gets_the_scripted_answers(
    write: Write, llm: str, binding: str
) -> None:
    # The binding's `enabled` turns it on for the data plane (`llm_options`), so here too.
    write_tenant(write, llm=llm, binding=binding)
    result = await run_conversation_test(write("case.yaml", TEST))
    assert result.status == "passed", result.message


async def test_a_flow_test_scripting_answers_has_the_llm_on(write: Write) -> None:
    write("faq.yaml", FLOW.format(fallback="true"))
    text = TEST.replace("tenant: tenant.yaml", "flow: faq.yaml\nknowledge: We are open 9 to 5.")
    result = await run_conversation_test(write("case.yaml", text))
    assert result.status == "passed", result.message


def test_validate_warns_of_llm_fallback_states_under_an_llm_that_is_off(
    invoke: Invoke, write: Write
) -> None:
    tenant = write_tenant(write)
    result = invoke("validate", tenant)
    assert result.exit_code == 0, result.output
    assert (
        f"{tenant}:5 llm.enabled: [warning] the LLM is off, so the flow's state MENU "
        "(`llm_fallback: true`) never asks it: free text gets the state's `fallback` instead; "
        "add `llm: {enabled: true}` to this file to answer questions from the knowledge "
        "(`connectors.llm` only picks the provider)"
    ) in result.stdout
    assert "0 error(s), 1 warning(s)" in result.stdout


def test_validate_names_every_such_state_on_the_llm_line(invoke: Invoke, write: Write) -> None:
    write("faq.yaml", FLOW.format(fallback="true") + "  HELP:\n    llm_fallback: true\n")
    tenant = write(
        "tenant.yaml", TENANT.format(llm="llm: {quota_monthly_tokens: 1000}\n", binding="")
    )
    result = invoke("validate", tenant)
    assert (
        f"{tenant}:6 llm.enabled: [warning] the LLM is off, so the flow's states MENU, HELP "
        in (result.stdout)
    )


@pytest.mark.parametrize(
    ("llm", "binding", "fallback"),
    [("llm: {enabled: true}\n", "", True), ("", ", enabled: true", True), ("", "", False)],
    ids=["enabled", "enabled-in-binding", "no-llm-fallback"],
)
def test_validate_says_nothing_when_the_llm_is_on_or_unused(
    invoke: Invoke, write: Write, llm: str, binding: str, fallback: bool
) -> None:
    tenant = write_tenant(write, llm=llm, binding=binding, fallback=fallback)
    result = invoke("validate", tenant)
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.stdout


@pytest.mark.parametrize(("binding", "enabled"), [(", enabled: true", True), ("", False)])
def test_the_sandbox_keeps_the_llm_switch_the_data_plane_reads(
    write: Write, binding: str, enabled: bool
) -> None:
    # `enabled` in the `connectors.llm` binding turns the LLM on for the data plane: the
    # sandbox's own settings (no retries) must not turn it off again.
    tenant = read_tenant_file(write_tenant(write, binding=binding))
    assert tenant.config is not None and tenant.flow is not None
    mocked = sandbox_config(tenant.config, tenant.flow.spec)
    assert llm_options(tenant.config).enabled is enabled
    assert llm_options(mocked).enabled is enabled
