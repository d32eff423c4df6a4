"""`botfleet cp contacts export|erase|list` against a running control plane whose tenant's data
plane is faked at the HTTP boundary: the export printed or written owner-only, the erasure
asked for first unless --yes, a contact id starting with `-` after `--`; the conversations as
a table in local time, or as JSON, asked for since a time or for the last hours."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from cp_server import control_plane_on_a_port
from typer.testing import CliRunner, Result

from botfleet.cli.main import app
from botfleet.control_plane.client import ControlPlaneClient
from botfleet.control_plane.models import TenantCreate

ADMIN_KEY = "cli-contacts-admin-key-0123456789abcdef"
TOKEN = "cli-contacts-internal-token-0123456789"
#: Central European time with its summer offset, as a POSIX rule (no time zone files needed).
MADRID = "CET-1CEST,M3.5.0,M10.5.0/3"


def conversation(contact: str, state: str, last: str | None, created: str) -> dict[str, Any]:
    return {
        "contact_id": contact,
        "contact_hash": "0a1b2c3d4e5f",
        "channel": "telegram" if contact.startswith("-") else "whatsapp",
        "state": state,
        "created_at": created,
        "updated_at": last or created,
        "last_message_at": last,
    }


LISTED: dict[str, Any] = {
    "conversations": [
        conversation("34600999888", "KNOWN", "2024-05-06T07:05:00Z", "2024-05-06T07:04:00Z"),
        conversation("-100123:topic:7", "ASK", None, "2024-05-01T16:30:00Z"),
    ],
    "count": 2,
    "truncated": False,
    "next": None,
}


class FakeDataPlane:
    """acme's data plane: /health names it; /contacts/{id} exports or erases `id`;
    /conversations answers `listing` and keeps the query it was asked."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.listing: dict[str, Any] = LISTED
        self.queries: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok", "tenant_id": "acme"})
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        if request.url.path == "/conversations":
            self.queries.append(dict(request.url.params))
            return httpx.Response(200, json=self.listing)
        contact = unquote(request.url.raw_path.decode().removeprefix("/contacts/"))
        self.requests.append((request.method, contact))
        if request.method == "DELETE":
            return httpx.Response(200, json=erased(contact))
        return httpx.Response(200, json=exported(contact))


def exported(contact: str) -> dict[str, Any]:
    """Shaped as a data plane's export (the control plane checks it: `ContactExportView`)."""
    at = "2024-05-06T07:05:00Z"
    hello = {"type": "text", "text": "Hello Ana García"}
    message = {
        "type": "text",
        "timestamp": at,
        "text": "Ana García",
        "payload": "",
        "contact_name": "",
        "language": "",
        "extra": {},
    }
    return {
        "contact_id": contact,
        "contact_hash": "0a1b2c3d4e5f",
        "conversation": {
            "tenant_id": "acme",
            "contact_id": contact,
            "node": "KNOWN",
            "created_at": "2024-05-06T07:04:00Z",
            "updated_at": at,
            "data": {"name": "Ana García"},
            "history": [],
            "version": 2,
            "awaiting": None,
            "last_options": [],
            "flow_id": "names",
            "last_options_list": False,
            "last_inbound_at": at,
        },
        "messages_received": [
            {
                "message_id": "m1",
                "received_at": at,
                "status": "done",
                "message": message,
                "replies": [hello],
            }
        ],
        "messages_sent": [{"seq": 1, "at": at, "output": hello}],
        "scheduled_tasks": [],
        "truncated": False,
        "appointments": [],
        "moves": [],
    }


def erased(contact: str) -> dict[str, Any]:
    return {
        "contact_id": contact,
        "contact_hash": "0a1b2c3d4e5f",
        "conversation": True,
        "messages_received": 1,
        "messages_sent": 1,
        "scheduled_tasks": 0,
        "kept_notifications": 0,
        "appointments_left": 0,
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeDataPlane]]:
    """A control plane on a free port; acme reaches the fake data plane, bare has none."""
    data_plane = FakeDataPlane()
    folder = tmp_path_factory.mktemp("cp")
    with control_plane_on_a_port(folder, ADMIN_KEY, httpx.MockTransport(data_plane)) as url:
        with ControlPlaneClient(url, ADMIN_KEY) as client:
            client.create_tenant(
                TenantCreate(id="acme", name="Acme", data_plane_url="http://dp:8002")
            )
            client.set_credentials("acme", "data_plane", {"internal_token": TOKEN})
            client.create_tenant(TenantCreate(id="bare", name="Bare"))
        yield url, data_plane


def cli(stack: tuple[str, FakeDataPlane], *args: str, code: int = 0, stdin: str = "") -> Result:
    env = {"BOTFLEET_CP_URL": stack[0], "BOTFLEET_API_KEY": ADMIN_KEY}
    result = CliRunner().invoke(app, ["cp", "contacts", *args], env=env, input=stdin)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def test_export_prints_the_contacts_data(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "export", "acme", "34600111222")
    assert json.loads(result.stdout) == exported("34600111222")


def test_export_writes_an_owner_only_file(stack: tuple[str, FakeDataPlane], tmp_path: Path) -> None:
    target = tmp_path / "requests" / "ana.json"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o644)

    result = cli(stack, "export", "acme", "34600111222", "--output", str(target))

    assert result.stdout == f"exported to {target}\n"
    assert json.loads(target.read_text(encoding="utf-8")) == exported("34600111222")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_erase_asks_first_and_a_no_erases_nothing(stack: tuple[str, FakeDataPlane]) -> None:
    before = list(stack[1].requests)

    refused = cli(stack, "erase", "acme", "34600111222", stdin="n\n", code=1)

    assert "Erase everything tenant 'acme'" in refused.stderr
    assert "{" not in refused.stdout  # (the test runner echoes the typed answer there)
    assert stack[1].requests == before, "the data plane was asked anyway"

    confirmed = cli(stack, "erase", "acme", "34600111222", stdin="y\n")
    answer = confirmed.stdout[confirmed.stdout.index("{") :]  # after the echoed "y"
    # The client's model names `stored_as` (null: a data plane that does not say).
    assert json.loads(answer) == {**erased("34600111222"), "stored_as": None}
    assert stack[1].requests[-1] == ("DELETE", "34600111222")


def test_erase_with_yes_and_a_dash_contact_id(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "erase", "acme", "--yes", "--", "-100123:topic:7")

    assert json.loads(result.stdout) == {**erased("-100123:topic:7"), "stored_as": None}
    assert stack[1].requests[-1] == ("DELETE", "-100123:topic:7")
    assert "Erase everything" not in result.stderr


def test_a_tenant_without_a_data_plane_exits_1_saying_what_to_set(
    stack: tuple[str, FakeDataPlane],
) -> None:
    result = cli(stack, "export", "bare", "34600111222", code=1)

    assert result.stderr.startswith("error: HTTP 409: tenant 'bare' has no data_plane_url")
    assert result.stdout == ""


@pytest.fixture
def in_madrid(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is Madrid's for the test."""
    monkeypatch.setenv("TZ", MADRID)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def relisted(stack: tuple[str, FakeDataPlane]) -> Iterator[tuple[str, FakeDataPlane]]:
    """The stack, for a test that changes its data plane's list (put back afterwards)."""
    yield stack
    stack[1].listing = LISTED


def table_rows(stdout: str) -> list[list[str]]:
    """The table's rows (header first), cells split on the runs of spaces between them."""
    lines = stdout.splitlines()
    return [
        [cell for cell in line.split("   ") if cell.strip()] for line in lines[:1] + lines[2:-1]
    ]


def test_list_prints_a_table_in_local_time(
    stack: tuple[str, FakeDataPlane], in_madrid: None
) -> None:
    result = cli(stack, "list", "acme")

    rows = [[cell.strip() for cell in row] for row in table_rows(result.stdout)]
    assert rows == [
        ["Contact", "Channel", "State", "Last message", "Started"],
        ["34600999888", "whatsapp", "KNOWN", "2024-05-06 09:05 CEST", "2024-05-06 09:04 CEST"],
        ["-100123:topic:7", "telegram", "ASK", "-", "2024-05-01 18:30 CEST"],
    ]
    assert result.stdout.splitlines()[-1] == "2 conversations"
    assert stack[1].queries[-1] == {"limit": "100"}


def test_list_json_prints_the_answer(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "list", "acme", "--json", "--limit", "5")

    assert json.loads(result.stdout) == LISTED
    assert stack[1].queries[-1] == {"limit": "5"}


def test_list_since_a_local_time_or_for_the_last_hours(
    stack: tuple[str, FakeDataPlane], in_madrid: None
) -> None:
    since = cli(stack, "list", "acme", "--since", "2024-05-06T09:00")
    assert stack[1].queries[-1]["active_since"] == "2024-05-06T09:00:00+02:00"
    assert since.stdout.splitlines()[-1] == "2 conversations since 2024-05-06 09:00 CEST"

    cli(stack, "list", "acme", "--since", "2024-05-06T07:00:00Z")
    assert stack[1].queries[-1]["active_since"] == "2024-05-06T07:00:00+00:00"

    before = datetime.now(UTC)
    cli(stack, "list", "acme", "--hours", "2", "--json")
    asked = datetime.fromisoformat(stack[1].queries[-1]["active_since"])
    assert before - timedelta(hours=2) <= asked <= datetime.now(UTC) - timedelta(hours=2)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--since", "2024-05-06T09:00", "--hours", "2"], "give --since or --hours, not both"),
        (["--since", "last tuesday"], "is not an ISO time"),
        (["--limit", "1001"], "'--limit': Input should be less than or equal to 1000"),
        (["--hours", "0"], "'--hours': Input should be greater than or equal to 1"),
    ],
)
def test_list_refuses_bad_options_before_asking(
    stack: tuple[str, FakeDataPlane], args: list[str], said: str
) -> None:
    asked = len(stack[1].queries)

    result = cli(stack, "list", "acme", *args, code=2)

    assert said in " ".join(result.stderr.replace("│", " ").split())
    assert len(stack[1].queries) == asked


def test_list_says_when_more_match_and_when_none_do(
    relisted: tuple[str, FakeDataPlane],
) -> None:
    first = LISTED["conversations"][:1]
    relisted[1].listing = {"conversations": first, "count": 1, "truncated": True}
    more = cli(relisted, "list", "acme", "--limit", "1")
    assert more.stdout.splitlines()[-1] == (
        "the 1 most recent conversations; more match: raise --limit (up to 1000) or give a "
        "later --since"
    )

    relisted[1].listing = {"conversations": [], "count": 0, "truncated": False}
    none = cli(relisted, "list", "acme")
    assert none.stdout == "no conversations\n"


#: A cursor as a data plane writes it: ["conversations", "2024-05-06T07:05:00.000000+00:00",
#: "34600999888"], base64url.
CURSOR = "WyJjb252ZXJzYXRpb25zIiwiMjAyNC0wNS0wNlQwNzowNTowMC4wMDAwMDArMDA6MDAiLCIzNDYwMDk5OTg4OCJd"


def _offered(stdout: str, command: str) -> str:
    """The cursor the last line offers after `command` (the control plane seals the data
    plane's, anew each time: its text is not known beforehand)."""
    last = stdout.splitlines()[-1]
    head, _, cursor = last.partition(f"{command} --before ")
    assert head and cursor and " " not in cursor, last
    return cursor


def test_list_gives_the_option_for_the_next_page_and_takes_it(
    relisted: tuple[str, FakeDataPlane], in_madrid: None
) -> None:
    first, second = LISTED["conversations"]
    relisted[1].listing = {"conversations": [first], "count": 1, "truncated": True, "next": CURSOR}
    one = cli(relisted, "list", "acme", "--limit", "1", "--since", "2024-05-01T09:00")
    # The whole command of the next page: the same tenant, limit and start.
    again = "botfleet cp contacts list acme --limit 1 --since 2024-05-01T09:00:00+02:00"
    assert one.stdout.splitlines()[-1].startswith(
        "the 1 most recent conversations since 2024-05-01 09:00 CEST; more match: the next "
        f"page: {again} --before "
    )
    sealed = _offered(one.stdout, again)
    assert sealed != CURSOR  # the data plane's names the contact: the control plane seals it

    more = cli(relisted, "list", "acme", "--limit", "1", "--before", sealed)
    assert relisted[1].queries[-1] == {"limit": "1", "before": CURSOR}
    assert more.stdout.splitlines()[-1].startswith(
        "1 more conversation; more match: the next page: botfleet cp contacts list acme "
        "--limit 1 --before "
    )
    sealed = _offered(more.stdout, "botfleet cp contacts list acme --limit 1")

    relisted[1].listing = {"conversations": [second], "count": 1, "truncated": False, "next": None}
    last = cli(relisted, "list", "acme", "--before", sealed, "--json")
    assert json.loads(last.stdout)["conversations"] == [second]
    assert relisted[1].queries[-1] == {"limit": "100", "before": CURSOR}
    assert cli(relisted, "list", "acme", "--before", sealed).stdout.splitlines()[-1] == (
        "1 more conversation"
    )
    relisted[1].listing = {"conversations": [], "count": 0, "truncated": False, "next": None}
    assert cli(relisted, "list", "acme", "--before", sealed).stdout == "no more conversations\n"


def test_a_cursor_the_control_plane_did_not_seal_is_refused(
    relisted: tuple[str, FakeDataPlane],
) -> None:
    asked = len(relisted[1].queries)
    result = cli(relisted, "list", "acme", "--before", CURSOR, code=1)
    assert "before: not a cursor of this list" in result.stderr
    assert len(relisted[1].queries) == asked, "the data plane was asked anyway"


def test_an_editor_sees_no_web_chat_id(relisted: tuple[str, FakeDataPlane]) -> None:
    visitor = {**conversation("web-9f8e7d6c5b4a", "ASK", None, "2024-05-06T07:00:00Z")}
    visitor["channel"] = "webchat"
    whatsapp = LISTED["conversations"][0]
    relisted[1].listing = {"conversations": [whatsapp, visitor], "count": 2, "truncated": False}
    with ControlPlaneClient(relisted[0], ADMIN_KEY) as client:
        key = client.create_api_key("acme", "staff", role="editor").key
    env = {"BOTFLEET_CP_URL": relisted[0], "BOTFLEET_API_KEY": key}

    for as_json in (False, True):
        args = ["cp", "contacts", "list", "acme", *(["--json"] if as_json else [])]
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        assert "web-9f8e7d6c5b4a" not in result.stdout
        if as_json:
            shown = [c["contact_id"] for c in json.loads(result.stdout)["conversations"]]
            assert shown == ["34600999888", None]
        else:
            assert [row[0] for row in table_rows(result.stdout)[1:]] == [
                "34600999888",
                "(owner only)",
            ]


def test_list_shows_ids_as_they_are_never_as_markup_or_terminal_codes(
    relisted: tuple[str, FakeDataPlane],
) -> None:
    odd = conversation("[bold]ana[/bold]", "A\x1b[2JB", None, "2024-05-06T07:04:00Z")
    relisted[1].listing = {"conversations": [odd], "count": 1, "truncated": False}

    result = cli(relisted, "list", "acme")

    assert "[bold]ana[/bold]" in result.stdout
    assert "A\\x1b[2JB" in result.stdout
    assert "\x1b" not in result.stdout
