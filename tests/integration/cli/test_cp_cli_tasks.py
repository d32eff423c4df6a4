"""`botfleet cp tasks run|cancel|list` against a running control plane whose tenant's data plane
is faked at the HTTP boundary: the answer printed as JSON, `--text` as the task's
``{"text": ...}``, `--data` as JSON or @file, exit status 1 when the task failed (the answer
printed, one error line), a contact id starting with `-` after `--`; a pending job run by its
id (`--job`, never with data of its own) and cancelled; a run's warnings printed on stderr
with exit status 0; the pending jobs listed with their filters. A run of TASK CONTACT_ID is
strict unless `--allow-missing` (refused: exit 1, nothing sent, the missing values printed);
a `--job` run only with `--strict`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cp_server import control_plane_on_a_port
from typer.testing import CliRunner, Result

from botfleet.cli.main import app
from botfleet.control_plane.client import ControlPlaneClient
from botfleet.control_plane.models import TenantCreate

ADMIN_KEY = "cli-tasks-admin-key-0123456789abcdef"
TOKEN = "cli-tasks-internal-token-0123456789"
RUN_ID = "manual:{task}@20240506T090000Z"
LISTED: dict[str, Any] = {
    "tasks": [
        {
            "job_id": "once:a",
            "kind": "one_off",
            "task": "team_done",
            "contact_id": "+34600111222",
            "key": "a",
            "next_run_at": "2024-05-06T08:00:00Z",
            "data": {},
        }
    ],
    "count": 1,
    "truncated": False,
}


#: What the data plane answers about a run whose templates missed values.
WARNINGS = [
    {
        "code": "template_missing_value",
        "message": "missing value 'appointment'",
        "where": "tasks.reminder[0].text",
    },
    {
        "code": "bad_option_id",
        "message": "an option id or quick-reply payload rendered empty, or the same as an "
        "earlier one's: that option (or button) was left out",
        "where": "tasks.reminder[0].buttons[0].id",
    },
]


class FakeDataPlane:
    """salon's data plane: /health names it; /run-task runs `team_reply` and `team_done`,
    `reminder` with `WARNINGS` (refused when strict: it lacks `appointment`), fails `broken`,
    knows no other task; /tasks answers `LISTED`; `once:a` is its one pending reminder (run or
    cancelled by id, `once:warned` runs with warnings, refused when strict),
    `standing:nightly` a standing job. Keeps what it was asked."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.queries: list[dict[str, str]] = []
        self.jobs: list[tuple[str, str]] = []
        self.job_params: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok", "tenant_id": "salon"})
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        if request.url.path == "/tasks":
            self.queries.append(dict(request.url.params))
            return httpx.Response(200, json=LISTED)
        if request.url.path.startswith("/tasks/"):
            self.job_params.append(dict(request.url.params))
            strict = request.url.params.get("strict") == "true"
            return self.job(request.method, request.url.path.removeprefix("/tasks/"), strict)
        run = json.loads(request.content)
        self.runs.append(run)
        task = run["task"]
        if task not in ("team_reply", "team_done", "broken", "reminder"):
            return httpx.Response(404, json={"detail": f"unknown task {task!r} in flow handoff"})
        if task == "reminder" and run.get("strict"):
            return httpx.Response(422, json=refused(ran(run)))
        failed = task == "broken"
        answer = ran(run, failed=failed)
        if task == "reminder":
            answer["warnings"] = WARNINGS
        return httpx.Response(500 if failed else 200, json=answer)

    def job(self, method: str, path: str, strict: bool) -> httpx.Response:
        job_id = path.removesuffix("/run") if method == "POST" else path
        self.jobs.append((method, job_id))
        if job_id == "standing:nightly" and method == "DELETE":
            detail = "'standing:nightly' is the flow's standing schedule 'nightly': ..."
            return httpx.Response(409, json={"detail": detail})
        if job_id not in ("once:a", "once:warned"):
            detail = f"no pending job {job_id!r}: it ran, was cancelled, or never existed"
            return httpx.Response(404, json={"detail": detail})
        about = {"job_id": job_id, "kind": "one_off", "task": "team_done"}
        about |= {"contact_id": "+34600111222", "contact_hash": "5ed3d90e59d5"}
        if method == "DELETE":
            key = job_id.removeprefix("once:")
            return httpx.Response(200, json={**about, "key": key, "next_run_at": None})
        answer = {**about, "status": "done", "run_id": f"{job_id}@20240506T080000Z"}
        answer |= {"sent": 1, "failed": 0}
        answer["warnings"] = WARNINGS if job_id == "once:warned" else []
        if strict and job_id == "once:warned":
            return httpx.Response(422, json=refused(answer))
        return httpx.Response(200, json=answer)


def refused(answer: dict[str, Any]) -> dict[str, Any]:
    """`answer` as a strict run refused: nothing sent, the value it lacks as its warning."""
    detail = "strict run refused: a template lacks a value (see `warnings`); nothing was sent"
    return {**answer, "status": "refused", "sent": 0, "failed": 0} | {
        "warnings": WARNINGS[:1],
        "detail": detail,
    }


def ran(run: dict[str, Any], *, failed: bool = False) -> dict[str, Any]:
    return {
        "status": "failed" if failed else "done",
        "task": run["task"],
        "contact_id": run["contact_id"],
        "run_id": RUN_ID.format(task=run["task"]),
        "sent": None if failed else 1,
        "failed": None if failed else 0,
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeDataPlane]]:
    """A control plane on a free port; salon reaches the fake data plane."""
    data_plane = FakeDataPlane()
    folder = tmp_path_factory.mktemp("cp")
    with control_plane_on_a_port(folder, ADMIN_KEY, httpx.MockTransport(data_plane)) as url:
        with ControlPlaneClient(url, ADMIN_KEY) as client:
            client.create_tenant(
                TenantCreate(id="salon", name="Salon", data_plane_url="http://dp:8002")
            )
            client.set_credentials("salon", "data_plane", {"internal_token": TOKEN})
        yield url, data_plane


def cli(stack: tuple[str, FakeDataPlane], *args: str, code: int = 0) -> Result:
    env = {"BOTFLEET_CP_URL": stack[0], "BOTFLEET_API_KEY": ADMIN_KEY}
    result = CliRunner().invoke(app, ["cp", "tasks", *args], env=env)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def test_run_with_text_sends_it_as_the_tasks_text(stack: tuple[str, FakeDataPlane]) -> None:
    text = 'Hi Ana, this is Marta. "Quoted" {{ not a template }}'

    result = cli(stack, "run", "salon", "team_reply", "+34600111222", "--text", text)

    run = {"task": "team_reply", "contact_id": "+34600111222", "data": {"text": text}}
    assert stack[1].runs[-1] == {**run, "strict": True}
    assert json.loads(result.stdout) == {**ran(run), "contact_hash": None, "warnings": []}
    assert result.stderr == ""


def test_run_with_data_as_json_or_from_a_file(
    stack: tuple[str, FakeDataPlane], tmp_path: Path
) -> None:
    cli(stack, "run", "salon", "team_done", "34600111222", "--data", '{"why": "solved"}')
    assert stack[1].runs[-1]["data"] == {"why": "solved"}

    data = tmp_path / "data.json"
    data.write_text('{"text": "Cita a las 10:00 ✂"}', encoding="utf-8")
    cli(stack, "run", "salon", "team_reply", "34600111222", "--data", f"@{data}")
    assert stack[1].runs[-1]["data"] == {"text": "Cita a las 10:00 ✂"}

    cli(stack, "run", "salon", "team_done", "34600111222")
    assert stack[1].runs[-1]["data"] == {}


def test_run_of_a_task_that_failed_prints_it_and_exits_1(
    stack: tuple[str, FakeDataPlane],
) -> None:
    result = cli(stack, "run", "salon", "broken", "34600111222", code=1)

    assert json.loads(result.stdout)["status"] == "failed"
    assert result.stderr == (
        "error: the task 'broken' failed on the data plane of tenant 'salon' and nothing of "
        "it was committed; its task_failed log line (run manual:broken@20240506T090000Z) says "
        "why\n"
    )


def test_run_of_an_unknown_task_exits_1_naming_it(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "run", "salon", "team_replied", "34600111222", "--text", "x", code=1)

    assert result.stdout == ""
    assert result.stderr.startswith("error: HTTP 404: POST /run-task on the data plane at ")
    assert "has no task 'team_replied'" in result.stderr


def test_run_for_a_contact_id_starting_with_a_dash(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "run", "salon", "team_done", "--", "-100123:topic:7")

    assert stack[1].runs[-1]["contact_id"] == "-100123:topic:7"
    assert json.loads(result.stdout)["contact_id"] == "-100123:topic:7"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--text", "hi", "--data", "{}"], "give --data or --text, not both"),
        (["--data", '["hi"]'], "give a JSON object"),
        (["--data", "{text: hi}"], "not JSON"),
        (["--data", "@/nonexistent/data.json"], "cannot read /nonexistent/data.json"),
    ],
)
def test_run_refuses_bad_data_before_asking(
    stack: tuple[str, FakeDataPlane], args: list[str], said: str
) -> None:
    asked = len(stack[1].runs)

    result = cli(stack, "run", "salon", "team_reply", "34600111222", *args, code=2)

    assert said in " ".join(result.stderr.replace("│", " ").split())
    assert len(stack[1].runs) == asked


def test_list_prints_the_jobs_with_the_filters_asked(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "list", "salon")
    assert json.loads(result.stdout) == LISTED
    assert stack[1].queries[-1] == {"limit": "200"}

    cli(stack, "list", "salon", "--contact", "+34600111222", "--task", "team_done", "--limit", "5")
    assert stack[1].queries[-1] == {
        "contact_id": "+34600111222",
        "task": "team_done",
        "limit": "5",
    }


def test_run_of_a_pending_job_by_its_id(stack: tuple[str, FakeDataPlane]) -> None:
    asked = len(stack[1].runs)

    result = cli(stack, "run", "salon", "--job", "once:a")

    assert stack[1].jobs[-1] == ("POST", "once:a")
    assert stack[1].job_params[-1] == {}  # a job's own data: not strict unless asked
    printed = json.loads(result.stdout)
    assert (printed["job_id"], printed["status"], printed["run_id"]) == (
        "once:a",
        "done",
        "once:a@20240506T080000Z",
    )
    assert result.stderr == ""
    assert len(stack[1].runs) == asked  # not a /run-task


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--job", "once:a", "--data", "{}"], "a pending job runs with its own data"),
        (["--job", "once:a", "--text", "hi"], "a pending job runs with its own data"),
        (["team_done", "34600111222", "--job", "once:a"], "give --job JOB_ID, or TASK"),
        ([], "give TASK and CONTACT_ID, or --job JOB_ID"),
        (["team_done"], "give TASK and CONTACT_ID, or --job JOB_ID"),
    ],
)
def test_run_refuses_a_job_with_data_or_a_task_before_asking(
    stack: tuple[str, FakeDataPlane], args: list[str], said: str
) -> None:
    asked = (len(stack[1].runs), len(stack[1].jobs))

    result = cli(stack, "run", "salon", *args, code=2)

    assert said in " ".join(result.stderr.replace("│", " ").split())
    assert (len(stack[1].runs), len(stack[1].jobs)) == asked


def test_run_of_an_unknown_job_exits_1_naming_it(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "run", "salon", "--job", "once:gone", code=1)

    assert result.stdout == ""
    assert result.stderr.startswith("error: HTTP 404: POST /tasks/{job_id}/run on the data plane")
    assert "no pending job 'once:gone'" in result.stderr


def test_cancel_prints_the_job_cancelled(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "cancel", "salon", "once:a")

    assert stack[1].jobs[-1] == ("DELETE", "once:a")
    assert json.loads(result.stdout)["key"] == "a"
    assert result.stderr == ""


def test_cancel_of_a_standing_job_exits_1_saying_why(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "cancel", "salon", "standing:nightly", code=1)

    assert result.stderr.startswith("error: HTTP 409: DELETE /tasks/{job_id} on the data plane")
    assert "standing schedule" in result.stderr


def test_a_runs_warnings_are_printed_and_it_still_exits_0(
    stack: tuple[str, FakeDataPlane],
) -> None:
    result = cli(
        stack, "run", "salon", "reminder", "web-marta", "--data", '{"n": 1}', "--allow-missing"
    )

    assert "strict" not in stack[1].runs[-1]
    assert json.loads(result.stdout)["warnings"] == WARNINGS
    assert result.stderr.splitlines() == [
        "warnings: the task ran, but its turn reported 2 problems (its messages may read wrong):",
        "  template_missing_value at tasks.reminder[0].text: missing value 'appointment'",
        "  bad_option_id at tasks.reminder[0].buttons[0].id: an option id or quick-reply "
        "payload rendered empty, or the same as an earlier one's: that option (or button) "
        "was left out",
        "hint: to run a pending job with the data it was scheduled with, use --job JOB_ID "
        "(botfleet cp tasks list salon shows the job ids)",
    ]

    by_job = cli(stack, "run", "salon", "--job", "once:warned")
    assert by_job.stderr.splitlines()[0].startswith("warnings: the task ran")
    assert "hint:" not in by_job.stderr


def test_a_run_is_strict_by_default_and_a_refused_one_exits_1_saying_nothing_was_sent(
    stack: tuple[str, FakeDataPlane],
) -> None:
    """The yoga studio's walk-through: `cp tasks run yoga reminder web-bia` without --data."""
    result = cli(stack, "run", "salon", "reminder", "web-marta", code=1)

    assert stack[1].runs[-1] == {
        "task": "reminder",
        "contact_id": "web-marta",
        "data": {},
        "strict": True,
    }
    printed = json.loads(result.stdout)
    assert (printed["status"], printed["sent"]) == ("refused", 0)
    assert result.stderr.splitlines() == [
        "error: a template of the task lacks a value:",
        "  template_missing_value at tasks.reminder[0].text: missing value 'appointment'",
        "nothing was sent; pass the values with --data, or --allow-missing to send anyway",
        "hint: to run a pending job with the data it was scheduled with, use --job JOB_ID "
        "(botfleet cp tasks list salon shows the job ids)",
    ]


def test_a_job_run_is_strict_with_strict_only(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "run", "salon", "--job", "once:warned", "--strict", code=1)

    assert stack[1].job_params[-1] == {"strict": "true"}
    assert json.loads(result.stdout)["status"] == "refused"
    assert result.stderr.splitlines()[-1] == (
        "nothing was sent and the job stays pending; leave out --strict to send anyway"
    )
