"""Control-plane test harness: fresh databases (SQLite; PostgreSQL when reachable) and an
in-process app with its lifespan running, reached through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from botfleet.control_plane.app import create_app
from botfleet.control_plane.settings import ControlPlaneSettings

ADMIN_KEY = "admin-key-for-tests-0123456789abcdef"
FERNET_KEY = "oGdyiHTb0dTrMvp7ltlP6nrvKoBtJ3pjxVGW4Cl8C3s="
POSTGRES_URL = os.environ.get(
    "CP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

TINY_FLOW = """\
id: tiny_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: "Hello from version {v}"
    fallback: MENU
"""

_postgres_state: dict[str, str | None] = {}

#: What `FakeDns` answers for a name it has no entry for: a public address.
PUBLIC_ADDRESS = "93.184.215.14"


class FakeDns:
    """The control plane's resolver in these tests (`CP_TENANT_URL_POLICY` looks up the host
    names of tenants' binding URLs): no test makes a real DNS lookup. A name maps to its
    addresses, or to an exception to raise (``socket.gaierror``: it does not resolve); other
    names answer `default` (None: they do not resolve). `asked` records every lookup.

    With `threads`, lookups beyond that many at once wait for one to end, as on the system
    resolver's thread pool; `most_at_once` is the most that ran together."""

    def __init__(
        self,
        table: Mapping[str, Sequence[str] | BaseException] | None = None,
        default: Sequence[str] | None = (PUBLIC_ADDRESS,),
        delay_s: float = 0.0,
        threads: int | None = None,
    ) -> None:
        self.table = dict(table or {})
        self.default = default
        self.delay_s = delay_s
        self.asked: list[str] = []
        self._threads = None if threads is None else asyncio.Semaphore(threads)
        self._running = 0
        self.most_at_once = 0

    async def __call__(self, host: str) -> Sequence[str]:
        self.asked.append(host)
        if self._threads is None:
            return await self._answer(host)
        async with self._threads:
            return await self._answer(host)

    async def _answer(self, host: str) -> Sequence[str]:
        self._running += 1
        self.most_at_once = max(self.most_at_once, self._running)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        finally:
            self._running -= 1
        found = self.table.get(host.removesuffix("."), self.default)
        if found is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if isinstance(found, BaseException):
            raise found
        return list(found)


async def postgres_unreachable_reason() -> str | None:
    """None when the test PostgreSQL answers; otherwise why not (cached for the session)."""
    if "reason" not in _postgres_state:
        import asyncpg

        dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
        try:
            conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout=3)
        except Exception as exc:
            _postgres_state["reason"] = (
                f"PostgreSQL not reachable at {POSTGRES_URL} ({type(exc).__name__}); "
                "set CP_TEST_POSTGRES_URL or start one to run the postgres variants"
            )
        else:
            await conn.close()
            _postgres_state["reason"] = None
    return _postgres_state["reason"]


@dataclass(frozen=True)
class Database:
    kind: str
    url: str
    schema: str | None = None


@contextlib.asynccontextmanager
async def fresh_postgres_schema() -> AsyncIterator[Database]:
    """A uniquely named schema, dropped afterwards (other users of the database are untouched)."""
    import asyncpg

    schema = f"cp_test_{uuid.uuid4().hex[:12]}"
    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        yield Database("postgres", POSTGRES_URL, schema)
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


def make_settings(db: Database, **overrides: Any) -> ControlPlaneSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": db.url,
        "database_schema": db.schema,
        "admin_api_key": ADMIN_KEY,
        "fernet_keys": FERNET_KEY,
        "startup_db_attempts": 1,
        "log_level": "DEBUG",
        **overrides,
    }
    return ControlPlaneSettings(**values)


@dataclass
class ControlPlane:
    """A running control plane and helpers to set up tenants through its API."""

    client: httpx.AsyncClient
    app: Any
    data_plane_requests: list[httpx.Request] = field(default_factory=list)
    dns: FakeDns = field(default_factory=FakeDns)

    @staticmethod
    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(ADMIN_KEY)

    async def create_tenant(self, tenant_id: str, **fields: Any) -> str:
        """Create a tenant; returns its boot token."""
        body = {"id": tenant_id, "name": tenant_id.title(), **fields}
        response = await self.client.post("/v1/tenants", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        token: str = response.json()["boot_token"]
        return token

    async def tenant_key(self, tenant_id: str, name: str = "ci") -> str:
        response = await self.client.post(
            f"/v1/tenants/{tenant_id}/api-keys", json={"name": name}, headers=self.admin
        )
        assert response.status_code == 201, response.text
        key: str = response.json()["key"]
        return key

    async def upload_flow(
        self, tenant_id: str, version_label: str = "1", *, publish: bool = False
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/tenants/{tenant_id}/flows",
            params={"publish": str(publish).lower()},
            content=TINY_FLOW.format(v=version_label),
            headers={**self.admin, "Content-Type": "application/yaml"},
        )


DataPlaneHandler = Callable[[httpx.Request], httpx.Response]


@contextlib.asynccontextmanager
async def running_control_plane(
    settings: ControlPlaneSettings,
    data_plane: DataPlaneHandler | None = None,
    *,
    dns: FakeDns | None = None,
) -> AsyncIterator[ControlPlane]:
    """Start the app's lifespan and yield a client bound to it. Host names are looked up in
    `dns` (default: a `FakeDns` answering a public address for every name)."""
    dns = FakeDns() if dns is None else dns
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if data_plane is None:
            raise httpx.ConnectError("no data plane in this test", request=request)
        return data_plane(request)

    app = create_app(settings, data_plane_transport=httpx.MockTransport(handler), resolver=dns)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cp.test") as client:
            yield ControlPlane(client=client, app=app, data_plane_requests=seen, dns=dns)
