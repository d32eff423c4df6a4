"""Composition root of the control plane: settings -> database, crypto, HTTP client, metrics."""

from __future__ import annotations

import asyncio
import getpass
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from botfleet import __version__
from botfleet.control_plane.binding_schemas import channel_types, connector_types
from botfleet.control_plane.crypto import SecretBox
from botfleet.control_plane.db.engine import (
    describe_database,
    failure_reason,
    is_connection_error,
    is_login_refused,
    is_missing_database,
    is_privilege_refused,
    is_schema_unusable,
    make_engine,
    make_session_factory,
)
from botfleet.control_plane.db.migrate import (
    DatabaseNewerThanCode,
    current_revisions,
    head_revisions,
    known_revisions,
    run_migrations,
)
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import ControlPlaneError, DatabaseUnavailable
from botfleet.control_plane.logs import get_logger
from botfleet.control_plane.metrics import ControlPlaneMetrics
from botfleet.control_plane.services.data_plane_contacts import DataPlaneContacts
from botfleet.control_plane.services.data_plane_relay import DataPlaneRelay
from botfleet.control_plane.services.data_plane_tasks import DataPlaneTasks
from botfleet.control_plane.services.fleet import DataPlaneProbe
from botfleet.control_plane.settings import ControlPlaneSettings
from botfleet.control_plane.url_policy import Resolver, SystemResolver, TenantUrlGuard

_log = get_logger("bootstrap")


@dataclass(frozen=True, slots=True)
class Container:
    """What request handlers need, built once per app in the lifespan."""

    settings: ControlPlaneSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    box: SecretBox
    probe: DataPlaneProbe
    metrics: ControlPlaneMetrics
    #: `CP_TENANT_URL_POLICY`: what a tenant key may point its bindings' URLs at.
    url_guard: TenantUrlGuard
    #: A contact's data on a tenant's data plane (export, erasure).
    contacts: DataPlaneContacts
    #: A tenant's flow tasks on its data plane (run now, pending jobs).
    tasks: DataPlaneTasks

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.sessions)


class DatabaseStartupFailed(DatabaseUnavailable):
    """The start-up migrations could not use the database: the message is one line for an
    operator (the database's host, port and name, never its password, and what to do)."""

    def __init__(self, message: str) -> None:
        ControlPlaneError.__init__(self, message)


async def migrate_with_retries(settings: ControlPlaneSettings) -> None:
    """Run migrations, waiting for a database that is still starting (compose, k8s)."""
    url = settings.database_url
    delay = 0.5
    for attempt in range(1, settings.startup_db_attempts + 1):
        try:
            await run_migrations(url, schema=settings.database_schema)
            return
        except Exception as exc:  # only connection failures are worth waiting for
            _raise_if_hopeless(exc, url, settings.database_schema)
            if not is_connection_error(exc):
                raise
            failure = exc
        _log.warning(
            "database not reachable yet",
            attempt=attempt,
            of=settings.startup_db_attempts,
            error=type(failure).__name__,
        )
        if attempt < settings.startup_db_attempts:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
    raise DatabaseStartupFailed(
        f"could not run migrations at start-up: cannot reach {describe_database(url)} "
        f"after {settings.startup_db_attempts} attempt(s) ({failure_reason(failure, url)}); "
        "check CP_DATABASE_URL and that the server is up"
    )


#: How long the start waits to read the revision when it does not migrate (it starts anyway).
_REVISION_CHECK_TIMEOUT_S = 5.0


async def warn_unless_at_head(settings: ControlPlaneSettings) -> None:
    """Log a warning when the database is not at this botfleet's head revision, for a start
    that does not migrate (CP_MIGRATE_ON_STARTUP=false): otherwise only /health tells. The
    start goes on whatever the database says, as it did before this check."""
    url, schema = settings.database_url, settings.database_schema
    where = describe_database(url)
    heads = head_revisions()
    try:
        async with asyncio.timeout(_REVISION_CHECK_TIMEOUT_S):
            current = await current_revisions(url, schema=schema)
    except Exception as exc:  # the start must not fail on a check it did not make before
        _log.warning(
            "database revision not read at start",
            database=where,
            error=type(exc).__name__,
            head=_listed(heads),
        )
        return
    if current == heads:
        return
    if current - {revision.id for revision in known_revisions()}:
        fix = (
            "a newer botfleet migrated it: run that version, or downgrade the database with it "
            f"(botfleet db downgrade {_listed(heads)})"
        )
    else:
        fix = "run botfleet db upgrade (CP_MIGRATE_ON_STARTUP is false)"
    _log.warning(
        "database is not at this botfleet's head revision",
        database=where,
        revision=_listed(current),
        head=_listed(heads),
        fix=fix,
    )


def _listed(revisions: frozenset[str]) -> str:
    return ", ".join(sorted(revisions)) or "none (never migrated)"


def _raise_if_hopeless(exc: Exception, url: str, schema: str | None) -> None:
    """Failures that waiting does not cure: reported at once."""
    if is_privilege_refused(exc):
        raise DatabaseStartupFailed(_privilege_refused(exc, url, schema)) from exc
    if is_schema_unusable(exc):
        raise DatabaseStartupFailed(_schema_unusable(exc, url, schema)) from exc
    if isinstance(exc, DatabaseNewerThanCode):
        raise DatabaseStartupFailed(_newer_database(exc, url)) from exc
    if is_missing_database(exc):
        parsed = make_url(url)
        flags = f"-h {parsed.host or 'localhost'} -p {parsed.port or 5432}"
        if parsed.username:
            flags += f" -U {parsed.username}"
        raise DatabaseStartupFailed(
            f"could not run migrations at start-up: {describe_database(url)} does not exist; "
            f"create it with createdb {flags} {parsed.database or ''}"
        ) from exc
    if is_login_refused(exc):
        raise DatabaseStartupFailed(
            f"could not run migrations at start-up: {describe_database(url)} refused the "
            f"login ({failure_reason(exc, url)}); check the user and password in "
            "CP_DATABASE_URL"
        ) from exc


def _sql_name(name: str) -> str:
    """`name` as an SQL identifier: quoted unless PostgreSQL would read it unquoted as is."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _role_and_database(url: str) -> tuple[str, str]:
    """Who logs in and where, as quoted SQL names; a URL without them gets asyncpg's defaults
    (PGUSER or the system user; PGDATABASE or the role's name)."""
    parsed = make_url(url)
    role = parsed.username or os.environ.get("PGUSER")
    if not role:
        try:
            role = getpass.getuser()
        except (OSError, KeyError):  # a container's user id without a name
            role = "<role>"
    database = parsed.database or os.environ.get("PGDATABASE") or role
    return _sql_name(role), _sql_name(database)


def _privilege_refused(exc: Exception, url: str, schema: str | None) -> str:
    reason = failure_reason(exc, url)
    refused = (
        f"could not run migrations at start-up: {describe_database(url)} refused them ({reason}): "
    )
    return refused + privilege_hint(exc, url, schema)


def privilege_hint(exc: Exception, url: str, schema: str | None) -> str:
    """What to grant, by what PostgreSQL refused (`is_privilege_refused`), for the role `url`
    logs in as. The common one: since PostgreSQL 15 only the database's owner may create
    tables in schema public, and a database made by `postgres` for the control plane's role is
    owned by `postgres`."""
    role, database = _role_and_database(url)
    reason = failure_reason(exc, url)
    if "for schema" in reason:
        if schema is None:
            return (
                f"the role {role} may not create tables in schema public (on PostgreSQL 15 "
                "and later only the database's owner may); make it the database's owner "
                f"(ALTER DATABASE {database} OWNER TO {role}, or create the database with "
                f"createdb -O {role} {database}) or GRANT CREATE ON SCHEMA public TO {role}"
            )
        name = _sql_name(schema)
        return (
            f"the role {role} may not create tables in schema {name} (CP_DATABASE_SCHEMA); "
            f"make it the schema's owner (ALTER SCHEMA {name} OWNER TO {role}) or GRANT USAGE, "
            f"CREATE ON SCHEMA {name} TO {role}"
        )
    if "for database" in reason:
        return (
            f"the role {role} may not connect to it; GRANT CONNECT ON DATABASE {database} TO {role}"
        )
    return (
        f"the control plane's tables belong to another role than {role}; start it as the role "
        f"that ran its migrations before, or make {role} the owner of those tables "
        f"(ALTER TABLE ... OWNER TO {role})"
    )


def _schema_unusable(exc: Exception, url: str, schema: str | None) -> str:
    reason = failure_reason(exc, url)
    return (
        "could not run migrations at start-up: "
        f"{describe_database(url)} {schema_unusable_hint(url, schema, reason)}"
    )


def schema_unusable_hint(url: str, schema: str | None, reason: str | None = None) -> str:
    """What to do when the database at `url` offers no schema to create tables in
    (`is_schema_unusable`, or a search_path with no usable schema): ``has no schema ... that
    the role ... may use (<reason>); create it (CREATE SCHEMA ...) or ... GRANT ...``, to
    follow the database's description. One text for `serve` and `botfleet db`, so an operator
    meets the same advice wherever the schema turns out missing.

    PostgreSQL leaves a schema the role may not use out of its search_path, so a missing
    schema and one without USAGE for the role look the same."""
    role, _ = _role_and_database(url)
    name = _sql_name(schema or "public")
    setting = " (CP_DATABASE_SCHEMA)" if schema else ""
    why = f" ({reason})" if reason else ""
    return (
        f"has no schema {name}{setting} that the role {role} may use{why}; create it "
        f"(CREATE SCHEMA {name} AUTHORIZATION {role}) or, if it exists, GRANT USAGE, CREATE ON "
        f"SCHEMA {name} TO {role}"
    )


def _newer_database(exc: DatabaseNewerThanCode, url: str) -> str:
    """What an operator who started an older version on an upgraded database can do: the
    newer version's migrations are the only ones that know how to go back."""
    current = ", ".join(repr(revision) for revision in sorted(exc.current))
    head = ", ".join(sorted(exc.heads))
    return (
        f"could not run migrations at start-up: {describe_database(url)} is at revision "
        f"{current}, which this botfleet ({__version__}, revisions up to {head}) does not know: "
        "this botfleet is older than the database (a newer one migrated it). Run the newer "
        f"version, or go back to this one: downgrade the database to {head} with the newer "
        f"version (botfleet db downgrade {head}), or restore the backup taken "
        'before the upgrade (docs/operations.md, "Upgrading")'
    )


@asynccontextmanager
async def open_container(
    settings: ControlPlaneSettings,
    metrics: ControlPlaneMetrics,
    *,
    data_plane_transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver | None = None,
) -> AsyncIterator[Container]:
    """Build the container (running migrations if configured) and close it afterwards.
    `resolver` looks up the host names of tenants' binding URLs (default: the system's, on
    threads of its own)."""
    for name in settings.generated_secrets:
        _log.warning(
            "GENERATED AN EPHEMERAL SECRET FOR THIS PROCESS ONLY: set it in the environment",
            setting=name,
            environment=settings.environment,
        )
    # The adapters' settings models (and the SDKs they import) load now, not on a request.
    channel_types(), connector_types()
    if settings.migrate_on_startup:
        await migrate_with_retries(settings)
    else:
        await warn_unless_at_head(settings)
    engine = make_engine(settings.database_url, schema=settings.database_schema)
    system = SystemResolver() if resolver is None else None
    url_guard = TenantUrlGuard(
        settings.tenant_url_policy,
        resolver if resolver is not None else system,
        timeout_s=settings.tenant_url_dns_timeout_s,
    )
    async with httpx.AsyncClient(transport=data_plane_transport, follow_redirects=False) as http:
        relay = DataPlaneRelay(http, connect_timeout_s=settings.data_plane_timeout_s)
        try:
            yield Container(
                settings=settings,
                engine=engine,
                sessions=make_session_factory(engine),
                box=SecretBox(settings.fernet_key_list),
                probe=DataPlaneProbe(http, timeout_s=settings.data_plane_timeout_s),
                metrics=metrics,
                url_guard=url_guard,
                contacts=DataPlaneContacts(relay),
                tasks=DataPlaneTasks(relay),
            )
        finally:
            await engine.dispose()
            if system is not None:
                system.close()
