"""A scheduled task whose run raises fails the step it ran in (`botfleet test`), and `botfleet
chat` says so: a failed task sends nothing, which `expect: []` would take for success."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from botfleet.cli.chat_session import _loop, show_flow_notice
from botfleet.cli.logs import command_logs
from botfleet.domain.errors import TemplateError
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.testing.conversation import ConversationResult, run_conversation_test
from botfleet.testing.sandbox import open_sandbox, sandbox_config, tenant_flow

#: `reminder` reads a value nobody set: under the tests' strict templates its run raises.
FLOW = """\
id: reminders_v1
initial_state: START
tasks:
  reminder:
    - action: send_text
      text: "Your appointment is tomorrow."
      when: "data.failed"
  ping:
    - action: send_text
      text: "ping"
states:
  START:
    on_enter:
      - action: send_text
        text: "Booked."
      - action: schedule_task
        task: reminder
        delay: DELAY
        idempotency_key: "reminder:{{ contact.id }}"
    fallback: START
"""

Run = Callable[..., Awaitable[ConversationResult]]
ERROR = "TemplateError: tasks.reminder[0].when: missing value 'failed'"


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """Write the flow (its reminder `delay`, extra top-level YAML) and a test, run the test."""

    async def run_test(steps: str, *, delay: str = "1h", extra: str = "") -> ConversationResult:
        flow = FLOW.replace("DELAY", delay) + extra
        (tmp_path / "flow.yaml").write_text(flow, encoding="utf-8")
        path = tmp_path / "case.yaml"
        path.write_text(f"flow: flow.yaml\nsteps:\n{steps}", encoding="utf-8")
        return await run_conversation_test(path)

    return run_test


async def test_a_task_failing_during_a_wait_fails_that_step(run: Run) -> None:
    result = await run("  - say: hi\n    tasks: [reminder]\n  - wait: 1d\n    expect: []\n")
    assert result.status == "failed"
    assert result.steps == 2
    assert result.message == (
        f"{result.source}:5: step 2 (wait: 1d)\n"
        "  the task 'reminder' failed (run once:reminder:contact-1@20240506T080000Z): "
        f"{ERROR}\n"
        "  the clock now reads Tue 7 May 2024 09:00 (+02:00, Europe/Madrid)\n"
        "  the bot sent nothing"
    )


async def test_a_task_run_at_once_after_the_turn_fails_the_turns_step(run: Run) -> None:
    result = await run("  - say: hi\n    expect: [Booked.]\n", delay="0m")
    assert result.status == "failed"
    assert result.steps == 1
    assert "step 1 (say: 'hi')\n  the task 'reminder' failed (run once:reminder:" in result.message
    assert result.message.endswith(f"{ERROR}\n  the bot sent on webchat:\n    1) Booked.")


async def test_a_task_run_at_once_by_start_fails_the_start(run: Run, tmp_path: Path) -> None:
    (tmp_path / "flow.yaml").write_text(FLOW.replace("DELAY", "0m"), encoding="utf-8")
    path = tmp_path / "case.yaml"
    path.write_text("flow: flow.yaml\nstart: {state: START}\nsteps:\n  - wait: 1h\n")
    result = await run_conversation_test(path)
    assert result.status == "failed"
    assert result.message.startswith(f"{path}:2: start: the task 'reminder' failed (run once:")
    assert result.message.endswith(ERROR)


async def test_a_task_run_that_is_skipped_is_no_failure(run: Run) -> None:
    # A standing schedule without a contact: each run is skipped (`task_without_contact`).
    standing = "standing_schedules:\n  - {task: ping, interval: 1h}\n"
    result = await run("  - wait: 3h\n    expect: []\n", extra=standing)
    assert result.status == "passed", result.message


async def test_a_task_that_ran_passes(run: Run) -> None:
    steps = "  - say: hi\n  - set_data: {failed: true}\n  - wait: 1d\n"
    result = await run(steps + "    expect: [Your appointment is tomorrow.]\n")
    assert result.status == "passed", result.message


async def test_chat_says_a_task_that_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "flow.yaml").write_text(FLOW.replace("DELAY", "1h"), encoding="utf-8")
    raw = {
        "tenant_id": "t1",
        "name": "T",
        "timezone": "Europe/Madrid",
        "flow_path": str(tmp_path / "flow.yaml"),
    }
    config = tenant_config_from_mapping(raw, source=str(tmp_path / "tenant.yaml"))
    mocked = sandbox_config(config, tenant_flow(config).spec)
    lines = iter(["hi\n", ":wait 1d\n", ""])
    # Strict, as a test runs it: a chat's templates are not, so its tasks fail far more rarely.
    with command_logs(intercept=show_flow_notice):  # as `botfleet chat`: `task_failed` unseen
        async with open_sandbox(mocked, strict=True) as bot:
            await _loop(bot, lambda: next(lines), echo=True)
            assert [type(f.error) for f in bot.task_failures] == [TemplateError]
    out, err = capsys.readouterr()
    assert "you> :wait 1d\n(now " in out
    assert err == (
        "error: the task 'reminder' failed (run once:reminder:contact-1@20240506T080000Z): "
        f"{ERROR}\n"
    )
