"""`botfleet cp contacts erase` asks on stderr and writes nothing else to stdout: a script that
reads the erasure's JSON there gets it alone (not after a stray space from the prompt), and the
question reads as English (no ``'acme''s``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from cp_server import control_plane_on_a_port
from typer.testing import CliRunner, Result

from botfleet.cli.main import app
from botfleet.control_plane.client import ControlPlaneClient
from botfleet.control_plane.models import TenantCreate

ADMIN_KEY = "cli-erase-prompt-admin-key-0123456789"
TOKEN = "cli-erase-prompt-internal-token-0123456789"
QUESTION = (
    "Erase everything tenant 'pelu' keeps on its data plane about contact '34600111222'? This "
    "cannot be undone [y/N]: \n"
)


NOBODY = "34699999999"


def erased(contact: str) -> dict[str, Any]:
    return {
        "contact_id": contact,
        "contact_hash": "0a1b2c3d4e5f",
        "conversation": True,
        "messages_received": 1,
        "messages_sent": 2,
        "scheduled_tasks": 0,
        "kept_notifications": 0,
        "appointments_left": 0,
    }


class FakeDataPlane:
    """pelu's data plane: /health names it; DELETE /contacts/{id} erases `id`."""

    def __init__(self) -> None:
        self.erased: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok", "tenant_id": "pelu"})
        contact = unquote(request.url.raw_path.decode().removeprefix("/contacts/"))
        self.erased.append(contact)
        if contact == NOBODY:  # nothing stored: all zeros
            counts = {"conversation": False, "messages_received": 0, "messages_sent": 0}
            return httpx.Response(200, json={**erased(contact), **counts})
        if contact.startswith("+"):  # found under the digits WhatsApp stores
            stored = "".join(c for c in contact if c.isdigit())
            return httpx.Response(200, json={**erased(contact), "stored_as": stored})
        return httpx.Response(200, json=erased(contact))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeDataPlane]]:
    data_plane = FakeDataPlane()
    folder = tmp_path_factory.mktemp("cp")
    with control_plane_on_a_port(folder, ADMIN_KEY, httpx.MockTransport(data_plane)) as url:
        with ControlPlaneClient(url, ADMIN_KEY) as client:
            client.create_tenant(
                TenantCreate(id="pelu", name="Pelu", data_plane_url="http://dp:8002")
            )
            client.set_credentials("pelu", "data_plane", {"internal_token": TOKEN})
        yield url, data_plane


def erase(stack: tuple[str, FakeDataPlane], answer: str, *, code: int) -> Result:
    env = {"BOTFLEET_CP_URL": stack[0], "BOTFLEET_API_KEY": ADMIN_KEY}
    args = ["cp", "contacts", "erase", "pelu", "34600111222"]
    result = CliRunner().invoke(app, args, env=env, input=answer)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.mark.parametrize("answer", ["n\n", "\n", "", "yes please\n"])
def test_anything_but_yes_erases_nothing_and_prints_nothing_on_stdout(
    stack: tuple[str, FakeDataPlane], answer: str
) -> None:
    before = list(stack[1].erased)

    result = erase(stack, answer, code=1)

    assert result.stdout == ""
    assert result.stderr == f"{QUESTION}Aborted.\n"
    assert stack[1].erased == before


@pytest.mark.parametrize("answer", ["y\n", "YES\n", " y "])
def test_a_yes_prints_the_erasure_and_nothing_else_on_stdout(
    stack: tuple[str, FakeDataPlane], answer: str
) -> None:
    result = erase(stack, answer, code=0)

    assert json.loads(result.stdout) == {**erased("34600111222"), "stored_as": None}
    assert result.stdout.startswith("{")
    assert result.stderr == QUESTION
    assert stack[1].erased[-1] == "34600111222"


@pytest.mark.parametrize(
    ("contact", "note"),
    [
        (
            NOBODY,
            f"note: nothing is stored under '{NOBODY}': erased before, or not the id the "
            "tenant's channel gives the contact (WhatsApp: the number's digits with the country "
            "code, e.g. 4915112223334); `botfleet cp contacts list pelu` shows the ids\n",
        ),
        (
            "+49 151 1222 3334",
            "note: '+49 151 1222 3334' is stored as '4915112223334': that contact's data\n",
        ),
    ],
)
def test_an_erasure_that_found_nothing_or_found_it_elsewhere_says_so(
    stack: tuple[str, FakeDataPlane], contact: str, note: str
) -> None:
    """Zeros read like a success to someone who gave the number as a person writes it."""
    env = {"BOTFLEET_CP_URL": stack[0], "BOTFLEET_API_KEY": ADMIN_KEY}
    args = ["cp", "contacts", "erase", "pelu", contact, "--yes"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["contact_id"] == contact
    assert result.stderr == note
