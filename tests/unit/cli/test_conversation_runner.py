"""The conversation-test runner: what passes, and its own failure and error messages."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from botfleet.testing.conversation import (
    ConversationResult,
    find_conversation_tests,
    run_conversation_test,
    run_conversation_tests,
)

SHOP_FLOW = """\
id: shop_v1
initial_state: MENU
tasks:
  nudge:
    - action: send_text
      text: "Still there?"
states:
  MENU:
    llm_fallback: true
    on_enter:
      - action: send_interactive_buttons
        body: "Welcome!"
        buttons: [{id: buy, title: Buy}, {id: help, title: Help}, {id: oops, title: Oops}]
    transitions:
      - on_payload: buy
        target: PICK
      - on_payload: help
        target: HELP
      - on_payload: oops
        target: OOPS
    fallback: MENU
  PICK:
    on_enter:
      - action: set_data
        values: {count: 30, label: "30"}
      - action: send_interactive_list
        body: "Pick a size"
        sections: [{title: Sizes, rows: [{id: size_s, title: Small}, {id: size_l, title: Large}]}]
      - action: schedule_task
        task: nudge
        delay: 1h
        idempotency_key: "nudge:{{ contact.id }}"
    transitions:
      - on_payload_prefix: size_
        extract_suffix_as: size
        target: DONE
    fallback: PICK
  HELP:
    on_enter:
      - action: send_text
        text: "Line one\\nLine two\\nLine three"
    next: MENU
  DONE:
    on_enter:
      - action: send_text
        text: "You picked {{ data.size }}."
  OOPS:
    on_enter:
      - action: send_text
        text: "Hello {{ data.nobody_set_this }}"
"""

Run = Callable[[str], ConversationResult]


@pytest.fixture
def run(tmp_path: Path) -> Callable[[str], object]:
    """Write `shop.yaml` and a test file (dedented), run the test, return its result."""
    (tmp_path / "shop.yaml").write_text(SHOP_FLOW, encoding="utf-8")

    async def run_test(text: str) -> ConversationResult:
        path = tmp_path / "case.yaml"
        path.write_text(dedent(text), encoding="utf-8")
        return await run_conversation_test(path)

    return run_test


HEAD = "flow: shop.yaml\nsteps:\n"


async def test_a_test_that_holds_passes_and_records_what_ran(run: Run, tmp_path: Path) -> None:
    result = await run(
        HEAD
        + """\
  - say: hi
    expect:
      - {text: "Welcome!", buttons: [buy, help, oops], type: buttons}
    state: MENU
  - press: buy
    expect:
      - {contains: size, regex: "^Pick", options: [size_s, size_l], type: list}
    data: {count: 30, label: "30"}
    tasks: [nudge]
  - wait: 1h
    expect: ["Still there?"]
    tasks: []
  - press: size_l
    expect: ["You picked l."]
    state: DONE
    data: {size: l}
"""
    )
    assert result.status == "passed", result.message
    assert (result.name, result.steps) == ("case", 4)
    assert result.source == str(tmp_path / "case.yaml")
    assert result.entered == ("MENU", "PICK", "DONE")
    assert "states.PICK.transitions[0]" in result.fired
    assert result.flow is not None and result.flow.spec.id == "shop_v1"


async def test_a_wrong_text_shows_expected_got_and_what_the_bot_sent(run: Run) -> None:
    result = await run(HEAD + "  - say: hi\n  - press: buy\n    expect: ['Pick a colour']\n")
    assert result.status == "failed"
    assert result.steps == 2
    assert result.message.endswith(
        "case.yaml:4: step 2 (press: buy)\n"
        "  output 1 text:\n"
        "    expected 'Pick a colour'\n"
        "    got      'Pick a size'\n"
        "  the bot sent on webchat:\n"
        "    1) [list] Pick a size\n"
        "         1. Small  (size_s)\n"
        "         2. Large  (size_l)"
    )


async def test_multi_line_texts_get_a_diff(run: Run) -> None:
    result = await run(
        HEAD + "  - say: hi\n  - press: help\n    expect:\n"
        '      - "Line one\\nLine 2\\nLine three"\n      - Welcome!\n'
    )
    assert result.status == "failed"
    assert "output 1 text differs:\n    --- expected\n    +++ got\n" in result.message
    assert "    -Line 2\n    +Line two\n" in result.message


async def test_the_number_of_outputs_and_their_kinds_are_checked(run: Run) -> None:
    result = await run(
        HEAD + "  - say: hi\n  - press: help\n    expect: [{contains: Line}]\n"
        "  - press: buy\n    expect: [{buttons: [size_s, size_l]}]\n"
    )
    assert "expected 1 output(s), the bot sent 2" in result.message
    result = await run(HEAD + "  - press: buy\n    expect: [{buttons: [size_s, size_l]}]\n")
    assert "output 1 buttons: expected ['size_s', 'size_l'], got list ['size_s', 'size_l']" in (
        result.message
    )


async def test_contains_regex_and_option_mismatches(run: Run) -> None:
    result = await run(
        HEAD + "  - press: buy\n    expect:\n"
        "      - {contains: colour, regex: '^Choose', options_include: [size_m], type: text}\n"
    )
    message = result.message
    assert "output 1 type: expected text, got list" in message
    assert "output 1 text:\n    expected to contain 'colour'\n    got 'Pick a size'" in message
    assert "output 1 text:\n    expected to match /^Choose/\n    got 'Pick a size'" in message
    assert "output 1 options: expected to include ['size_m'], got ['size_s', 'size_l']" in message


async def test_state_data_and_tasks_mismatches(run: Run) -> None:
    result = await run(
        HEAD
        + """\
  - press: buy
    state: PIKC
    data: {count: "30", label: "30", size: s, nested.key: 1}
    tasks: [reminder]
"""
    )
    message = result.message
    assert "state: expected PIKC (the flow has no such state), got PICK" in message
    assert "data.count: expected '30' (str), got 30 (int)" in message
    assert "data.size: missing (have: today, count, label)" in message
    assert "data.nested.key: missing" in message
    assert "tasks: expected ['reminder'], scheduled ['nudge']" in message


async def test_a_question_the_llm_script_does_not_answer(run: Run) -> None:
    result = await run(
        "flow: shop.yaml\nknowledge: We ship everywhere.\nllm: [Yes.]\nsteps:\n  - say: hi\n"
        "  - say: do you ship abroad?\n    expect: ['Yes.']\n"
        "  - say: and to the moon?\n"
    )
    assert result.status == "failed"
    assert "step 3 (say: 'and to the moon?')" in result.message
    assert (
        "  the LLM was asked 'and to the moon?', but the test's `llm:` list has no answer left\n"
        "    add the answer the LLM should give to the list (answers are used in order)\n"
    ) in result.message


async def test_a_question_in_a_test_without_llm_says_to_script_the_answer(
    run: Run, tmp_path: Path
) -> None:
    # `botfleet chat` would answer from the knowledge: the test must say why it does not.
    (tmp_path / "tenant.yaml").write_text(
        "tenant_id: t1\nflow_path: shop.yaml\nknowledge: Parking is free.\nllm: {enabled: true}\n",
        encoding="utf-8",
    )
    result = await run("tenant: tenant.yaml\nsteps:\n  - say: hi\n  - say: Is parking free?\n")
    assert result.status == "failed"
    assert (
        "  the LLM was asked 'Is parking free?', but the test has no `llm:` list\n"
        '    add `llm:` to the test with the answer the LLM should give, e.g. llm: ["..."] '
        "(a test never calls a real LLM nor answers from the knowledge file, as `botfleet chat` "
        "does)\n"
    ) in result.message


async def test_llm_answers_never_asked_for_fail_the_test(run: Run) -> None:
    result = await run("flow: shop.yaml\nllm: [Yes., {in_scope: false}]\nsteps:\n  - say: hi\n")
    assert result.status == "failed"
    assert "case.yaml:2: the LLM was never asked for: 'Yes.', ''" in result.message
    assert "give the test a `knowledge:` text" in result.message
    result = await run("flow: shop.yaml\nknowledge: x\nllm: [Yes.]\nsteps:\n  - say: hi\n")
    assert result.message.endswith("case.yaml:3: the LLM was never asked for: 'Yes.'")


async def test_a_missing_template_value_fails_the_turn_in_strict_mode(run: Run) -> None:
    result = await run(HEAD + "  - say: hi\n  - press: oops\n")
    assert result.status == "failed"
    assert "step 2 (press: oops)\n  the turn failed: TemplateError:" in result.message
    assert "nobody_set_this" in result.message


VIP_FLOW = """\
id: vip_v1
initial_state: MENU
states:
  MENU:
    transitions:
      - {condition: "data.vip", target: VIP}
    fallback: MENU
  VIP:
    on_enter: [{action: send_text, text: "Welcome back!"}]
"""


async def test_a_condition_reading_a_missing_value_fails_the_turn(run: Run, tmp_path: Path) -> None:
    (tmp_path / "vip.yaml").write_text(VIP_FLOW, encoding="utf-8")
    result = await run("flow: vip.yaml\nsteps:\n  - say: hi\n")
    assert result.status == "failed"
    assert "step 1 (say: 'hi')\n  the turn failed: TemplateError:" in result.message
    assert "states.MENU.transitions[0].condition: missing value 'vip'" in result.message


async def test_one_expected_output_may_be_written_without_the_list(run: Run) -> None:
    """docs/authoring.md, "Steps": `expect: "text"` is `expect: ["text"]`."""
    result = await run(HEAD + "  - press: buy\n  - say: '1'\n    expect: 'You picked s.'\n")
    assert result.status == "passed", result.message
    result = await run(HEAD + "  - say: hi\n    expect: 'Welcome'\n")
    assert result.status == "failed"
    assert "expected 'Welcome'\n" in result.message


async def test_steps_can_enter_a_state_with_data(run: Run) -> None:
    result = await run(
        HEAD + "  - enter: DONE\n    set_data: {size: m}\n    expect: ['You picked m.']\n"
    )
    assert result.status == "passed", result.message
    result = await run("flow: shop.yaml\nstart: {state: DONNE}\nsteps:\n  - say: hi\n")
    assert result.status == "failed"
    assert "start: ValueError: the flow has no state 'DONNE' (did you mean 'DONE'?)" in (
        result.message
    )


async def test_problems_in_the_test_file_are_errors_with_lines(run: Run) -> None:
    result = await run(
        HEAD + "  - say: hi\n    expct: [x]\n  - press: a\n    say: b\n"
        "  - say: c\n    expect: [{regex: '(unclosed'}]\n"
    )
    assert result.status == "error"
    assert "case.yaml:4 steps[0].expct: unknown key 'expct' (did you mean 'expect'?)" in (
        result.message
    )
    assert "case.yaml:5 steps[1]: give one action per step, not say and press" in result.message
    assert "case.yaml:8 steps[2].expect[0].regex: not a valid regular expression" in (
        result.message
    )


async def test_a_test_names_a_tenant_or_a_flow_that_exists(run: Run, tmp_path: Path) -> None:
    result = await run("steps:\n  - say: hi\n")
    assert result.status == "error"
    assert "give exactly one of 'tenant' (a tenant file) or 'flow' (a flow file)" in (
        result.message
    )
    result = await run("tenant: nowhere.yaml\nsteps:\n  - say: hi\n")
    assert result.status == "error"
    assert result.message == f"{tmp_path / 'case.yaml'}:1 tenant: file not found: " + str(
        tmp_path / "nowhere.yaml"
    )
    result = await run("name: x\nflow: nowhere.yaml\nsteps:\n  - say: hi\n")
    assert result.message == f"{tmp_path / 'case.yaml'}:2 flow: file not found: " + str(
        tmp_path / "nowhere.yaml"
    )


async def test_a_tenant_or_flow_that_is_a_folder_is_said_to_be_one(
    run: Run, tmp_path: Path
) -> None:
    """It used to be reported as "file not found", which sends one looking for a typo."""
    (tmp_path / "flows").mkdir()
    case = tmp_path / "case.yaml"
    result = await run("tenant: flows\nsteps:\n  - say: hi\n")
    assert result.status == "error"
    assert result.message == f"{case}:1 tenant: is a directory, not a file: {tmp_path / 'flows'}"
    result = await run("name: x\nflow: flows\nsteps:\n  - say: hi\n")
    assert result.message == f"{case}:2 flow: is a directory, not a file: {tmp_path / 'flows'}"
    tenant = tmp_path / "tenant.yaml"
    tenant.write_text("tenant_id: t1\nflow_path: flows\nknowledge_path: flows\n")
    result = await run("tenant: tenant.yaml\nsteps:\n  - say: hi\n")
    assert result.message == (
        f"{tenant}:2 flow_path: is a directory, not a file: {tmp_path / 'flows'}\n"
        f"{tenant}:3 knowledge_path: is a directory, not a file: {tmp_path / 'flows'}"
    )


async def test_a_tenant_that_cannot_run_is_reported_in_its_own_file(
    run: Run, tmp_path: Path
) -> None:
    tenant = tmp_path / "tenant.yaml"
    tenant.write_text(
        "tenant_id: t1\nflow_path: shopp.yaml\nknowledge_path: faq.md\n", encoding="utf-8"
    )
    result = await run("tenant: tenant.yaml\nsteps:\n  - say: hi\n")
    assert result.status == "error"
    assert result.message == (
        f"{tenant}:2 flow_path: file not found: {tmp_path / 'shopp.yaml'}\n"
        f"{tenant}:3 knowledge_path: file not found: {tmp_path / 'faq.md'}"
    )
    # A test's own knowledge replaces the tenant's file, which is then not needed.
    tenant.write_text(
        "tenant_id: t1\nflow_path: shop.yaml\nknowledge_path: faq.md\n", encoding="utf-8"
    )
    result = await run("tenant: tenant.yaml\nknowledge: x\nsteps:\n  - say: hi\n")
    assert result.status == "passed", result.message
    result = await run("tenant: tenant.yaml\nsteps:\n  - say: hi\n")
    assert result.message == f"{tenant}:3 knowledge_path: file not found: {tmp_path / 'faq.md'}"


async def test_a_connector_without_a_mock_needs_a_fixture(run: Run, tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(
        dedent(
            """\
            id: crm_v1
            initial_state: LOOKUP
            states:
              LOOKUP:
                on_enter:
                  - action: invoke_connector
                    connector: mock
                    operation: find
                    result_key: found
                  - action: send_text
                    text: "Found: {{ data.found.name }}"
                fallback: LOOKUP
            """
        ),
        encoding="utf-8",
    )
    result = await run(HEAD + "  - say: hi\n")
    assert result.status == "error"
    assert "connectors.mock: the flow calls 'mock' (type 'none'), which has no mock" in (
        result.message
    )
    result = await run(
        "flow: shop.yaml\nconnectors:\n  mock: {fixtures: {find: {name: Ana}}}\nsteps:\n"
        "  - say: hi\n    expect: ['Found: Ana']\n"
    )
    assert result.status == "passed", result.message


async def test_folders_are_searched_for_test_files_only(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(SHOP_FLOW, encoding="utf-8")
    nested = tmp_path / "more"
    nested.mkdir()
    (nested / "a.yaml").write_text("flow: ../shop.yaml\nsteps:\n  - say: hi\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text("flow: shop.yaml\nsteps:\n  - say: hi\n", encoding="utf-8")
    assert find_conversation_tests([tmp_path]) == [tmp_path / "b.yml", nested / "a.yaml"]
    results = await run_conversation_tests([tmp_path])
    assert [r.status for r in results] == ["passed", "passed"]


async def test_a_debounced_flow_is_tested_one_text_at_a_time_without_waiting(
    tmp_path: Path,
) -> None:
    (tmp_path / "shop.yaml").write_text(
        SHOP_FLOW.replace(
            "initial_state: MENU\n", "initial_state: MENU\nsettings:\n  debounce_ms: 60000\n"
        ),
        encoding="utf-8",
    )
    path = tmp_path / "case.yaml"
    path.write_text(HEAD + "  - say: hi\n    state: MENU\n  - say: hello\n    state: MENU\n")
    started = asyncio.get_running_loop().time()
    result = await run_conversation_test(path)
    assert result.status == "passed", result.message
    # Honouring the debounce would have waited a minute per text step.
    assert asyncio.get_running_loop().time() - started < 30
