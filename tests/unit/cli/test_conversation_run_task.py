"""`run_task:` steps of `botfleet test`: the flow's task run now for the step's contact, as the
control plane's "run now" runs it (a staff reply through `team_reply`), checked like any step;
a task the flow does not have is the test's error, before anything runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from cli_helpers import Invoke

from botfleet.testing.conversation import ConversationResult, run_conversation_test
from botfleet.testing.conversation_format import ConversationTestError, load_conversation_test

REPO = Path(__file__).parents[3]
TEAM_REPLY_TEST = REPO / "tests" / "conversations" / "team_reply.yaml"

FLOW = """\
id: shop_v1
initial_state: ASK
tasks:
  team_reply:
    - action: send_text
      text: "{{ data.text }}"
    - action: set_data
      values: {answered_by: team}
  reminder:
    - action: send_text
      text: "Still there?"
states:
  ASK:
    on_enter:
      - action: send_text
        text: "What do you need?"
    fallback: ASK
"""

Run = Callable[[str], Awaitable[ConversationResult]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """Write the flow and a test with these steps, run the test."""

    async def run_test(steps: str, flow: str = FLOW) -> ConversationResult:
        (tmp_path / "flow.yaml").write_text(flow, encoding="utf-8")
        path = tmp_path / "case.yaml"
        path.write_text(f"flow: flow.yaml\nsteps:\n{steps}", encoding="utf-8")
        return await run_conversation_test(path)

    return run_test


async def test_the_task_runs_for_the_steps_contact_with_its_data(run: Run) -> None:
    result = await run(
        "  - say: hi\n"
        "  - contact: other\n"
        '    run_task: {task: team_reply, data: {text: "Hola Léa"}}\n'
        '    expect: ["Hola Léa"]\n'
        "    data: {answered_by: team}\n"
        "  - run_task: {task: reminder}\n"  # no data: the first contact's
        '    expect: ["Still there?"]\n'
        "    state: ASK\n"
    )
    assert result.status == "passed", result.message
    assert result.steps == 3
    assert result.fired.count("tasks.team_reply") == 1


async def test_the_runs_data_is_not_stored(run: Run) -> None:
    result = await run(
        '  - run_task: {task: team_reply, data: {text: "Hi"}}\n    data: {text: Hi}\n'
    )
    assert result.status == "failed"
    assert "step 1 (run_task: team_reply)\n  data.text: missing (have: today, answered_by)" in (
        result.message
    )


async def test_a_value_the_task_lacks_fails_the_step_as_strict_templates_do(run: Run) -> None:
    result = await run("  - run_task: {task: team_reply}\n    expect: []\n")
    assert result.status == "failed"
    assert result.message == (
        f"{result.source}:3: step 1 (run_task: team_reply)\n"
        "  the turn failed: TemplateError: tasks.team_reply[0].text: missing value 'text'"
    )


async def test_an_unknown_task_is_the_tests_error_naming_file_line_step_and_tasks(
    run: Run,
) -> None:
    result = await run(
        '  - say: hi\n    expect: ["What do you need?"]\n'
        '  - run_task: {task: team_rply, data: {text: "Hola"}}\n'
    )
    assert result.status == "error"
    assert result.steps == 0  # nothing ran
    assert result.message == (
        f"{result.source}:5 steps[1].run_task.task: step 2 (run_task: team_rply): the flow has "
        "no task 'team_rply' (did you mean 'team_reply'?); its tasks: team_reply, reminder"
    )


async def test_a_flow_without_tasks_says_it_has_none(run: Run) -> None:
    flow = FLOW.split("tasks:")[0] + "states:" + FLOW.split("states:")[1]
    result = await run("  - run_task: {task: team_reply}\n", flow)
    assert result.status == "error"
    assert result.message.endswith("the flow has no task 'team_reply'; its tasks: none")


def test_run_task_is_one_action_of_a_step(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("flow: f.yaml\nsteps:\n  - say: hi\n    run_task: {task: t}\n", "utf-8")
    with pytest.raises(ConversationTestError, match="give one action per step, not say and run_"):
        load_conversation_test(path)


def test_the_team_reply_suite_reports_its_coverage(invoke: Invoke) -> None:
    result = invoke("test", TEAM_REPLY_TEST, "--coverage")
    assert result.exit_code == 0, result.output
    assert "PASS  the team answers a customer with team_reply" in result.stdout
    assert "coverage of shop_team_reply_v1" in result.stdout
    assert "states         4/4   100.0%" in result.stdout
    assert "transitions    6/6   100.0%" in result.stdout
