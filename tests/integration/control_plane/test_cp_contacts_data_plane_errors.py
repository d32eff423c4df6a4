"""The contact routes (a contact's data, the conversations) when the tenant's data plane cannot
be asked, or answers badly: each case gives a status and a message saying what to do, names
the data plane by its origin only, and never sends the token to a data plane that does not say
it is the tenant's."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import httpx
import pytest
from cp_harness import ControlPlane, Database, make_settings, running_control_plane

from botfleet.control_plane.services.conversations import MAX_SEALED_CURSOR, seal_cursor
from botfleet.control_plane.services.data_plane_contacts import (
    CONTACT_TIMEOUT_S,
    MAX_CONVERSATIONS_BYTES,
)

TOKEN = "contacts-errors-internal-token-0123456789"
#: A path under the origin: error messages name the origin only.
URL = "http://dp-acme:8002/base/path"
ORIGIN = "http://dp-acme:8002"
CONTACT = "34600111222"
PATH = f"/v1/tenants/acme/contacts/{CONTACT}"
ERASED = {
    "contact_id": CONTACT,
    "contact_hash": "0a1b2c3d4e5f",
    "conversation": True,
    "messages_received": 3,
    "messages_sent": 4,
    "scheduled_tasks": 1,
}
CONVERSATIONS = "/v1/tenants/acme/conversations"
LISTED = {
    "conversations": [
        {
            "contact_id": CONTACT,
            "contact_hash": "0a1b2c3d4e5f",
            "channel": "whatsapp",
            "state": "MENU",
            "created_at": "2024-05-06T07:00:00Z",
            "updated_at": "2024-05-06T07:05:00Z",
            "last_message_at": None,
        }
    ],
    "count": 1,
    "truncated": False,
    "next": None,
}
#: Every relayed route: what reaching the data plane refuses, it refuses for each.
ROUTES = [("GET", PATH), ("DELETE", PATH), ("GET", CONVERSATIONS)]
Handler = Callable[[httpx.Request], httpx.Response]


def data_plane(
    contacts: Handler, *, health: httpx.Response | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    """acme's data plane: /health names it (or answers `health`), /contacts/... `contacts`."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/health"):
            return health or httpx.Response(200, json={"status": "ok", "tenant_id": "acme"})
        return contacts(request)

    return handle


def erased(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=ERASED)


def listed(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=LISTED)


async def _acme(cp: ControlPlane, *, url: str | None = URL, token: str | None = TOKEN) -> None:
    await cp.create_tenant("acme", **({"data_plane_url": url} if url else {}))
    if token is not None:
        stored = await cp.client.put(
            "/v1/tenants/acme/credentials/data_plane",
            json={"internal_token": token},
            headers=cp.admin,
        )
        assert stored.status_code == 200, stored.text


def _no_secrets(response: httpx.Response) -> None:
    for secret in (TOKEN, "/base/path"):
        assert secret not in response.text, secret


async def _contact_audit(cp: ControlPlane) -> list[str]:
    entries = (await cp.client.get("/v1/audit", headers=cp.admin)).json()
    return [e["action"] for e in entries if e["action"].startswith("contact.")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_without_a_data_plane_url_409_says_to_set_it(
    database: Database, method: str, path: str
) -> None:
    async with running_control_plane(make_settings(database), data_plane(erased)) as cp:
        await _acme(cp, url=None)
        answer = await cp.client.request(method, path, headers=cp.admin)
    assert answer.status_code == 409
    assert "has no data_plane_url" in answer.json()["detail"]
    assert '"data_plane_url"' in answer.json()["detail"]
    assert cp.data_plane_requests == []


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_without_a_data_plane_token_409_names_the_credential(
    database: Database, method: str, path: str
) -> None:
    async with running_control_plane(make_settings(database), data_plane(erased)) as cp:
        await _acme(cp, token=None)
        answer = await cp.client.request(method, path, headers=cp.admin)
    assert answer.status_code == 409
    detail = answer.json()["detail"]
    assert "no data_plane credentials" in detail
    assert "/v1/tenants/acme/credentials/data_plane" in detail and "internal_token" in detail
    # The CLI's way with a file: a token typed on the command line stays in the shell history.
    assert "credentials set acme data_plane --file dp.json" in detail
    assert "internal_token=" not in detail
    assert cp.data_plane_requests == []


async def test_an_unreachable_data_plane_is_502_naming_its_origin_only(
    database: Database,
) -> None:
    async with running_control_plane(make_settings(database)) as cp:  # nothing answers
        await _acme(cp)
        answer = await cp.client.delete(PATH, headers=cp.admin)
        assert await _contact_audit(cp) == []
    assert answer.status_code == 502
    detail = answer.json()["detail"]
    assert f"on the data plane at {ORIGIN}: unreachable (ConnectError)" in detail
    assert "data_plane_url" in detail
    _no_secrets(answer)


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_token_is_502_saying_so(database: Database, status: int) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"detail": "wrong internal token"})

    async with running_control_plane(make_settings(database), data_plane(refuse)) as cp:
        await _acme(cp)
        answer = await cp.client.delete(PATH, headers=cp.admin)
    assert answer.status_code == 502
    detail = answer.json()["detail"]
    assert "the stored data_plane token was refused" in detail
    assert f"HTTP {status}: wrong internal token" in detail
    assert "PUT /v1/tenants/acme/credentials/data_plane" in detail
    _no_secrets(answer)


async def test_a_busy_data_plane_is_503_with_retry_after(database: Database) -> None:
    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            503, json={"detail": "the store is busy"}, headers={"Retry-After": "7"}
        )

    async with running_control_plane(make_settings(database), data_plane(busy)) as cp:
        await _acme(cp)
        erase = await cp.client.delete(PATH, headers=cp.admin)
        export = await cp.client.get(PATH, headers=cp.admin)
        listing = await cp.client.get(CONVERSATIONS, headers=cp.admin)
    for answer in (erase, export, listing):
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "7"
        assert "HTTP 503: the store is busy" in answer.json()["detail"]
        assert "retry in 7 s" in answer.json()["detail"]
    assert "erase again" in erase.json()["detail"]
    assert "erase again" not in export.json()["detail"]
    assert listing.json()["detail"].startswith(f"GET /conversations on the data plane at {ORIGIN}")


async def test_a_503_without_retry_after_gets_the_default(database: Database) -> None:
    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="<html>down</html>")

    async with running_control_plane(make_settings(database), data_plane(busy)) as cp:
        await _acme(cp)
        answer = await cp.client.get(PATH, headers=cp.admin)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"


@pytest.mark.parametrize(
    ("health", "why"),
    [
        (
            httpx.Response(200, json={"status": "ok", "tenant_id": "beta"}),
            "answers as another tenant",
        ),
        (httpx.Response(200, json={"status": "ok"}), "names no tenant"),
        (httpx.Response(404, json={"detail": "Not Found"}), "answered HTTP 404"),
        (httpx.Response(200, text="not json"), "names no tenant"),
    ],
)
async def test_a_data_plane_not_naming_the_tenant_never_gets_the_token(
    database: Database, health: httpx.Response, why: str
) -> None:
    async with running_control_plane(
        make_settings(database), data_plane(erased, health=health)
    ) as cp:
        await _acme(cp)
        erase = await cp.client.delete(PATH, headers=cp.admin)
        export = await cp.client.get(PATH, headers=cp.admin)
        listing = await cp.client.get(CONVERSATIONS, headers=cp.admin)
    for answer in (erase, export, listing):
        assert answer.status_code == 502
        assert why in answer.json()["detail"]
        assert "the token was not sent" in answer.json()["detail"]
        assert "beta" not in answer.text
    assert [r.url.path for r in cp.data_plane_requests] == ["/base/path/health"] * 3
    assert all("authorization" not in r.headers for r in cp.data_plane_requests)


async def test_no_answer_in_time_is_504_and_an_erasure_may_be_done(database: Database) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    settings = make_settings(database, data_plane_timeout_s=1.5)
    async with running_control_plane(settings, data_plane(slow)) as cp:
        await _acme(cp)
        answer = await cp.client.delete(PATH, headers=cp.admin)
    health, erase = (r.extensions["timeout"] for r in cp.data_plane_requests)
    assert health["read"] == 1.5  # the probe's timeout for /health
    assert (erase["connect"], erase["read"]) == (1.5, CONTACT_TIMEOUT_S)
    assert answer.status_code == 504
    assert f"no answer within {CONTACT_TIMEOUT_S:g} s" in answer.json()["detail"]
    assert "erase again" in answer.json()["detail"]


async def test_an_older_data_plane_without_the_route_is_502(database: Database) -> None:
    def missing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Not Found"})

    async with running_control_plane(make_settings(database), data_plane(missing)) as cp:
        await _acme(cp)
        answer = await cp.client.get(PATH, headers=cp.admin)
    assert answer.status_code == 502
    assert "no such route (HTTP 404: Not Found): upgrade the data plane" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("path", "bound", "advice"),
    [
        (PATH, 16 * 1024 * 1024, "read it from the data plane itself"),
        (CONVERSATIONS, MAX_CONVERSATIONS_BYTES, "ask for fewer (a lower limit), or read it"),
    ],
)
async def test_an_answer_over_its_bound_is_refused_not_held(
    database: Database, path: str, bound: int, advice: str
) -> None:
    big = b'{"contact_id": "34600111222", "x": "' + b"a" * bound + b'"}'

    def huge(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=big, headers={"Content-Type": "application/json"})

    async with running_control_plane(make_settings(database), data_plane(huge)) as cp:
        await _acme(cp)
        answer = await cp.client.get(path, headers=cp.admin)
    assert answer.status_code == 502
    assert f"larger than {bound} bytes" in answer.json()["detail"]
    assert advice in answer.json()["detail"]


async def test_an_answer_that_is_not_the_data_planes_is_502(database: Database) -> None:
    def other(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(200, json={**ERASED, "contact_id": "someone-else"})
        return httpx.Response(200, json={"hello": "world"})

    async with running_control_plane(make_settings(database), data_plane(other)) as cp:
        await _acme(cp)
        erase = await cp.client.delete(PATH, headers=cp.admin)
        export = await cp.client.get(PATH, headers=cp.admin)
        assert await _contact_audit(cp) == []
    assert erase.status_code == export.status_code == 502
    assert "answered about another contact" in erase.json()["detail"]
    assert "not as a data plane does" in export.json()["detail"]


@pytest.mark.parametrize(
    ("contact", "sent"),
    [
        ("..", "/base/path/contacts/%2E%2E"),
        ("web/chat 1", "/base/path/contacts/web%2Fchat%201"),
        ("+34 600?x#y", "/base/path/contacts/%2B34%20600%3Fx%23y"),
    ],
)
async def test_the_contact_id_is_one_percent_encoded_segment(
    database: Database, contact: str, sent: str
) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**ERASED, "contact_id": contact})

    async with running_control_plane(make_settings(database), data_plane(echo)) as cp:
        await _acme(cp)
        segment = quote(contact, safe="").replace("..", "%2E%2E")
        answer = await cp.client.delete(f"/v1/tenants/acme/contacts/{segment}", headers=cp.admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["contact_id"] == contact
    assert cp.data_plane_requests[-1].url.raw_path.decode() == sent


async def test_a_disabled_tenants_own_key_may_still_erase(database: Database) -> None:
    async with running_control_plane(make_settings(database), data_plane(erased)) as cp:
        await _acme(cp)
        key = await cp.tenant_key("acme")
        assert (await cp.client.post("/v1/tenants/acme/disable", headers=cp.admin)).is_success
        answer = await cp.client.delete(PATH, headers=cp.auth(key))
        assert await _contact_audit(cp) == ["contact.erase"]
    assert answer.status_code == 200, answer.text
    assert answer.json() == ERASED


async def test_conversations_forward_the_query_as_given(database: Database) -> None:
    async with running_control_plane(make_settings(database), data_plane(listed)) as cp:
        await _acme(cp)
        params = {"active_since": "2024-05-06T09:00:00+02:00", "limit": "1000"}
        answer = await cp.client.get(CONVERSATIONS, params=params, headers=cp.admin)
        utc = await cp.client.get(
            CONVERSATIONS, params={"active_since": "2024-05-06T07:00:00Z"}, headers=cp.admin
        )
    assert answer.status_code == utc.status_code == 200, answer.text
    assert answer.json() == LISTED
    asked, asked_utc = (r for r in cp.data_plane_requests if r.url.path.endswith("/conversations"))
    assert asked.url.path == "/base/path/conversations"
    assert asked.headers["authorization"] == f"Bearer {TOKEN}"
    assert dict(asked.url.params) == params  # the + arrives as a +, not a space
    assert dict(asked_utc.url.params) == {
        "active_since": "2024-05-06T07:00:00+00:00",
        "limit": "100",
    }


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"active_since": "2024-05-06T09:00:00"}, "active_since: give a UTC offset"),
        ({"active_since": "yesterday"}, "query.active_since"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "1001"}, "query.limit"),
        ({"before": "x" * (MAX_SEALED_CURSOR + 1)}, "query.before"),
        ({"before": "abc"}, "before: not a cursor of this list"),  # sealed by no control plane
    ],
)
async def test_a_bad_conversations_query_is_422_naming_it_before_any_call(
    database: Database, params: dict[str, str], named: str
) -> None:
    async with running_control_plane(make_settings(database), data_plane(listed)) as cp:
        await _acme(cp)
        answer = await cp.client.get(CONVERSATIONS, params=params, headers=cp.admin)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    shown = detail if isinstance(detail, str) else ".".join(map(str, detail[0]["loc"]))
    assert shown.startswith(named)
    assert cp.data_plane_requests == []


async def test_a_cursor_the_data_plane_refuses_is_a_422_naming_before(database: Database) -> None:
    said = "before: not a cursor of this list: pass the `next` of the previous page as it is"

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"detail": said})

    async with running_control_plane(make_settings(database), data_plane(refuse)) as cp:
        await _acme(cp)
        # A cursor this control plane sealed, which the data plane no longer takes.
        sealed = seal_cursor(cp.app.state.container.box, "acme", "abc")
        answer = await cp.client.get(CONVERSATIONS, params={"before": sealed}, headers=cp.admin)
        without = await cp.client.get(CONVERSATIONS, headers=cp.admin)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == said
    asked = [r for r in cp.data_plane_requests if r.url.path.endswith("/conversations")]
    assert [dict(r.url.params) for r in asked] == [
        {"limit": "100", "before": "abc"},  # opened: the data plane gets its own cursor
        {"limit": "100"},
    ]
    # The same answer to a request without a cursor is the data plane's fault, not the caller's.
    assert without.status_code == 502, without.text


async def test_a_data_plane_that_ignores_the_cursor_is_a_502_not_its_first_page_again(
    database: Database,
) -> None:
    older = {key: value for key, value in LISTED.items() if key != "next"}

    def ignore(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**older, "truncated": True})

    async with running_control_plane(make_settings(database), data_plane(ignore)) as cp:
        await _acme(cp)
        sealed = seal_cursor(cp.app.state.container.box, "acme", "abc")
        paged = await cp.client.get(CONVERSATIONS, params={"before": sealed}, headers=cp.admin)
        first = await cp.client.get(CONVERSATIONS, headers=cp.admin)
    assert paged.status_code == 502, paged.text
    assert paged.json()["detail"] == (
        f"GET /conversations on the data plane at {ORIGIN}: it does not page its "
        "conversations (a release before `before`): upgrade it, or ask for more at once (a "
        "higher limit, up to 1000)"
    )
    # Its first page is relayed as ever, `next` null.
    assert first.status_code == 200, first.text
    assert first.json() == {**older, "truncated": True, "next": None}


async def test_conversations_in_no_time_is_504_without_talk_of_turns(database: Database) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with running_control_plane(make_settings(database), data_plane(slow)) as cp:
        await _acme(cp)
        answer = await cp.client.get(CONVERSATIONS, headers=cp.admin)
    assert answer.status_code == 504
    detail = answer.json()["detail"]
    assert detail == (
        f"GET /conversations on the data plane at {ORIGIN}: no answer within "
        f"{CONTACT_TIMEOUT_S:g} s; retry later."
    )


@pytest.mark.parametrize(
    "body",
    [
        {"hello": "world"},
        {**LISTED, "conversations": [{"contact_id": CONTACT}]},
        [LISTED],
    ],
)
async def test_conversations_not_as_a_data_plane_lists_them_are_502(
    database: Database, body: object
) -> None:
    def other(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    async with running_control_plane(make_settings(database), data_plane(other)) as cp:
        await _acme(cp)
        answer = await cp.client.get(CONVERSATIONS, headers=cp.admin)
    assert answer.status_code == 502
    assert f"the data plane at {ORIGIN} answered, but not as a data plane does" in answer.text
    _no_secrets(answer)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_the_data_planes_word_on_the_contact_id_is_a_422_naming_it_unaudited(
    database: Database, method: str
) -> None:
    # A more channel's contact asked for without its prefix: the id given is wrong, not the
    # data plane (a 502 would say to look at the data plane), and nothing was done to audit.
    said = (
        "contact_id: 'web-lea-3' is no telegram contact of this tenant (an id without a prefix "
        "is its `channel`'s); its webchat contact is 'webchat:web-lea-3'"
    )

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"detail": said})

    async with running_control_plane(make_settings(database), data_plane(refuse)) as cp:
        await _acme(cp)
        answer = await cp.client.request(method, PATH, headers=cp.admin)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"] == said
        assert await _contact_audit(cp) == []


async def test_the_data_planes_word_on_the_contact_id_is_relayed_as_one_bounded_line(
    database: Database,
) -> None:
    # A broken data plane (or a proxy) must not put megabytes or terminal escapes into the
    # answer the CLI prints.
    said = "contact_id: 'web-1' is no telegram contact\n\x1b[2J\u202e" + "x" * 20_000

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"detail": said})

    async with running_control_plane(make_settings(database), data_plane(refuse)) as cp:
        await _acme(cp)
        answer = await cp.client.delete(PATH, headers=cp.admin)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("contact_id: 'web-1' is no telegram contact  [2J ")
    assert detail.isprintable()
    assert len(detail) <= len("contact_id: ") + 1000
