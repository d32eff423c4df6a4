"""`botfleet db ...`: the control plane's database (its migrations, and moving it elsewhere).

    botfleet db current                 # the database's revision; exit 1 when not at the head
    botfleet db history                 # the revisions this botfleet knows, newest first
    botfleet db upgrade                 # to this botfleet's head
    botfleet db downgrade 0002          # asks first (--yes not to): a downgrade loses data
    botfleet db copy SOURCE_URL         # into CP_DATABASE_URL's database (or give TARGET_URL)

The database is the control plane's: CP_DATABASE_URL and CP_DATABASE_SCHEMA (or .env), read
and checked as `botfleet serve control-plane` does, unless --url / --schema say otherwise.
Only `upgrade` makes a SQLite file that is not there, and only one named by --url or
CP_DATABASE_URL: the default ./var/control_plane.db must exist (else CP_DATABASE_URL was not
loaded). The migrations come with the package, so the same commands work from a checkout and
in the image (no alembic.ini). Exit status: 0 done; 1 `current` found the database behind or
ahead of this botfleet, or a downgrade was not confirmed; 2 the database could not be used (one
`error:` line, never a traceback nor a password) or a usage error.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from botfleet.control_plane.db.migrate import Revision
    from botfleet.control_plane.settings import ControlPlaneSettings

#: Exit status: `current` found the database off this botfleet's head; a downgrade declined.
NOT_DONE = 1
#: Exit status: the database could not be used (and usage errors, typer's).
FAILED = 2

db_app = typer.Typer(
    help="The control plane's database: its revision, migrations, and copying it elsewhere.",
    no_args_is_help=True,
)


@dataclass(frozen=True)
class Target:
    url: str
    schema: str | None
    #: False when the URL is the default (./var/control_plane.db): neither --url nor
    #: CP_DATABASE_URL (environment or .env) named a database.
    chosen: bool = True


_URL = typer.Option(
    None,
    "--url",
    help="The database (default: CP_DATABASE_URL, as the control plane reads it).",
    show_default=False,
)
_SCHEMA = typer.Option(
    None,
    "--schema",
    help="PostgreSQL schema (default: CP_DATABASE_SCHEMA).",
    show_default=False,
)


def mask(text: str, *urls: str) -> str:
    """`text` without the password of any of `urls`, nor one written in a URL (``user:pw@``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from botfleet.control_plane.settings import normalise_database_url

    for url in filter(None, urls):
        try:
            password = make_url(normalise_database_url(url)).password
        except (ValueError, ArgumentError):  # unparsable: the pattern below still applies
            password = None
        if password:
            text = text.replace(str(password), "***")
    return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", text)


def fail(message: str, *urls: str, code: int = FAILED) -> NoReturn:
    typer.echo(f"error: {mask(' '.join(message.split()), *urls)}", err=True)
    raise typer.Exit(code)


@functools.cache
def settings_class() -> type[ControlPlaneSettings]:
    """The control plane's settings without its check of the admin key and Fernet keys: the
    database commands use neither, and a shell given only CP_DATABASE_URL must do."""
    from pydantic import model_validator

    from botfleet.control_plane.settings import ControlPlaneSettings

    class DatabaseSettings(ControlPlaneSettings):
        @model_validator(mode="after")
        def _secrets_present(self) -> DatabaseSettings:  # replaces the parent's, by name
            return self

    return DatabaseSettings


class InvalidSettings(ValueError):
    """The database settings cannot be used; the message is one line, without their values."""


def settings_of(url: str | None, schema: str | None) -> ControlPlaneSettings:
    """The control plane's settings (environment, .env), `url` and `schema` overriding them.

    Raises:
        InvalidSettings: they are invalid (named as the operator gave them).
    """
    from pydantic import ValidationError

    from botfleet.startup_problems import invalid_settings

    given: dict[str, Any] = {}
    if url is not None:
        given["database_url"] = url
    if schema is not None:
        given["database_schema"] = schema or None
    model = settings_class()
    try:
        return model(**given)
    except ValidationError as exc:
        problem = invalid_settings("control plane settings are invalid", exc, model)
        # Name what the operator gave: the option, where it overrides the variable.
        if url is not None:
            problem = problem.replace("CP_DATABASE_URL:", "--url:")
        if schema is not None:
            problem = problem.replace("CP_DATABASE_SCHEMA:", "--schema:")
        raise InvalidSettings(problem) from None


def check_url(url: str, name: str) -> None:
    """Raises `InvalidSettings` when `url` cannot be read as a database URL.

    Never with the parser's words: they quote what it took for the host or port, which holds
    the rest of a password with an `@` that is not percent-encoded (`u:pa@ss:wd@host`)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from botfleet.control_plane.settings import normalise_database_url

    try:
        normalised = normalise_database_url(url)
    except ValueError as exc:  # its words never quote the URL
        raise InvalidSettings(str(exc)) from None
    try:
        # A host with an `@` is the rest of such a password (`u:pa@ss@host`).
        unreadable = "@" in (make_url(normalised).host or "")
    except (ValueError, ArgumentError):
        unreadable = True
    if unreadable:
        raise InvalidSettings(
            f"{name} is not a database URL that can be read (percent-encode the password's "
            "'@', ':', '/' and '%' as %40, %3A, %2F and %25)"
        )


def target(url: str | None, schema: str | None) -> Target:
    """The database: the control plane's settings (environment, .env), `url` and `schema`
    overriding them; invalid settings are one line and status 2, never their values."""
    try:
        settings = settings_of(url, schema)
        check_url(settings.database_url, "CP_DATABASE_URL" if url is None else "--url")
    except InvalidSettings as exc:
        fail(str(exc), url or "")
    chosen = url is not None or "database_url" in settings.model_fields_set
    return Target(settings.database_url, settings.database_schema, chosen)


def configured_database(schema: str | None) -> tuple[str, str | None]:
    """(URL, schema) of the control plane's own database, the target of `db copy` without
    TARGET_URL; `schema` (--target-schema) overrides CP_DATABASE_SCHEMA.

    Raises:
        InvalidSettings: the settings are invalid, or CP_DATABASE_URL is not set: the default
            SQLite file is never what a copy means to fill.
    """
    settings = settings_of(None, schema)
    if "database_url" not in settings.model_fields_set:
        raise InvalidSettings(
            "no TARGET_URL and CP_DATABASE_URL is not set: set it (environment or .env) to "
            "the new database, as the control plane will read it"
        )
    return settings.database_url, settings.database_schema


def where_configured(url: str, schema: str | None) -> str:
    """The configured database, for the line that says where a copy goes: no password."""
    from botfleet.control_plane.db.engine import describe_database

    in_schema = f", schema {schema}" if schema else ""
    return f"{describe_database(url)}{in_schema} (CP_DATABASE_URL)"


def database_problem(exc: Exception, doing: str, url: str, schema: str | None = None) -> str | None:
    """Why using the database failed, in one line (`cannot <doing>: <reason>`, with what to
    grant when PostgreSQL refused a privilege, or what to create when it has no schema to
    create the tables in); None for an exception that is not about the database (a bug: let
    it show)."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from botfleet.control_plane.bootstrap import privilege_hint, schema_unusable_hint
    from botfleet.control_plane.db.engine import (
        failure_reason,
        is_privilege_refused,
        is_schema_unusable,
    )
    from botfleet.control_plane.db.migrate import DatabaseNewerThanCode

    if isinstance(exc, DatabaseNewerThanCode | CommandError):
        return f"cannot {doing}: {exc}"
    # asyncpg raises its own errors for what happens before SQLAlchemy wraps them.
    if isinstance(exc, SQLAlchemyError | OSError) or type(exc).__module__.startswith("asyncpg"):
        if is_schema_unusable(exc):
            # PostgreSQL's words name no schema: serve's advice names it and the fix.
            hint = schema_unusable_hint(url, schema, failure_reason(exc, url))
            return f"cannot {doing}: it {hint}"
        hint = f": {privilege_hint(exc, url, schema)}" if is_privilege_refused(exc) else ""
        return f"cannot {doing}: {failure_reason(exc, url)}{hint}"
    return None


@contextmanager
def database_errors(doing: str, url: str, schema: str | None = None) -> Iterator[None]:
    """A failure to use the database as one `error: cannot <doing>: ...` line, status 2."""
    try:
        yield
    except Exception as exc:
        problem = database_problem(exc, doing, url, schema)
        if problem is None:
            raise
        fail(problem, url)


def missing(db: Target, where: str) -> str | None:
    """Why `db` cannot be used when it is a SQLite file that is not there: opening it would
    create it, empty, and report it as never migrated."""
    from botfleet.control_plane.db.copy import missing_sqlite_file

    if missing_sqlite_file(db.url):
        return f"{where} does not exist (set CP_DATABASE_URL, or give --url)"
    return None


def existing(db: Target) -> str:
    """`db`'s description, after checking it is there (`missing`)."""
    from botfleet.control_plane.db.engine import describe_database

    where = describe_database(db.url)
    problem = missing(db, where)
    if problem:
        fail(problem, db.url)
    return where


def read_current(db: Target, where: str) -> frozenset[str]:
    from botfleet.control_plane.db.migrate import current_revisions

    with database_errors(f"read the revision of {where}", db.url):
        return asyncio.run(current_revisions(db.url, schema=db.schema))


def refuse_unusable_schema(db: Target, where: str) -> None:
    """Fails (status 2) when `db` has no schema the migrations could create their tables in:
    without their version table it looks never migrated, yet `db upgrade` would fail there."""
    from botfleet.control_plane.bootstrap import schema_unusable_hint
    from botfleet.control_plane.db.migrate import has_schema_to_create_in

    with database_errors(f"read the revision of {where}", db.url):
        usable = asyncio.run(has_schema_to_create_in(db.url, schema=db.schema))
    if not usable:
        fail(f"{where} {schema_unusable_hint(db.url, db.schema)}", db.url)


def listed(revisions: frozenset[str]) -> str:
    return ", ".join(sorted(revisions)) or "none (never migrated)"


@db_app.command("current")
def current(url: str | None = _URL, schema: str | None = _SCHEMA) -> None:
    """The database's revision, and whether it is this botfleet's newest (its head).

    Exits 1 when it is not: behind (run `botfleet db upgrade`), never migrated, or migrated by
    a newer botfleet; 2 when the schema (PostgreSQL) does not exist or the role may not use it.
    """
    from botfleet.control_plane.db.migrate import head_revisions, known_revisions

    db = target(url, schema)
    where = existing(db)
    revisions = read_current(db, where)
    heads = head_revisions()
    if revisions == heads:
        typer.echo(f"{listed(revisions)} (head): {where} is at this botfleet's newest revision")
        return
    if not revisions:
        refuse_unusable_schema(db, where)
        typer.echo(f"none: {where} was never migrated; run botfleet db upgrade")
    elif revisions - {revision.id for revision in known_revisions()}:
        typer.echo(
            f"{listed(revisions)}: {where} is ahead of this botfleet (newest {listed(heads)}): "
            "a newer botfleet migrated it; run that version, or downgrade with it"
        )
    else:
        typer.echo(
            f"{listed(revisions)}: {where} is behind this botfleet (newest {listed(heads)}); "
            "run botfleet db upgrade"
        )
    raise typer.Exit(NOT_DONE)


@db_app.command("history")
def history(url: str | None = _URL, schema: str | None = _SCHEMA) -> None:
    """The revisions this botfleet knows, newest first; the database's is marked (current).

    The list is printed even when the database cannot be read (then with exit status 2).
    """
    from botfleet.control_plane.db.engine import describe_database
    from botfleet.control_plane.db.migrate import current_revisions, known_revisions

    db = target(url, schema)
    revisions: frozenset[str] = frozenset()
    where = describe_database(db.url)
    problem = missing(db, where)
    if problem is None:
        try:
            revisions = asyncio.run(current_revisions(db.url, schema=db.schema))
        except Exception as exc:
            problem = database_problem(exc, f"read the revision of {where}", db.url)
            if problem is None:
                raise
    for revision in known_revisions():
        marks = " (head)" * revision.head + " (current)" * (revision.id in revisions)
        typer.echo(f"{revision.id}{marks}  {revision.summary}")
    if problem:
        fail(problem, db.url)


@db_app.command("upgrade")
def upgrade(url: str | None = _URL, schema: str | None = _SCHEMA) -> None:
    """Migrate the database to this botfleet's newest revision (what the control plane does at
    start with CP_MIGRATE_ON_STARTUP=true). Stop the control plane first.

    A SQLite file named by --url or CP_DATABASE_URL is created when it is not there; without
    either, the default ./var/control_plane.db must exist.
    """
    from botfleet.control_plane.db.engine import describe_database
    from botfleet.control_plane.db.migrate import run_migrations

    db = target(url, schema)
    # A database named on purpose may be a new SQLite file; the default one, missing, means
    # CP_DATABASE_URL was not loaded, and upgrading would make a database nobody uses.
    where = describe_database(db.url) if db.chosen else existing(db)
    before = read_current(db, where)
    with database_errors(f"upgrade {where}", db.url, db.schema):
        asyncio.run(run_migrations(db.url, schema=db.schema))
    after = read_current(db, where)
    if before == after:
        typer.echo(f"{where} is already at {listed(after)} (head): nothing to do")
        return
    typer.echo(f"upgraded {where}: {listed(before)} -> {listed(after)} (head)")


def losses(undone: list[Revision]) -> str:
    from botfleet.control_plane.db.migrate import DOWNGRADE_LOSSES

    return "; ".join(
        f"{DOWNGRADE_LOSSES.get(revision.id, revision.summary)} (added by {revision.id})"
        for revision in undone
    )


# Without it click reads `-1` as an unknown option.
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def downgrade(
    revision: str = typer.Argument(
        ...,
        metavar="REVISION",
        help="base, a revision (see `botfleet db history`), or -N (N below the current).",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    url: str | None = _URL,
    schema: str | None = _SCHEMA,
) -> None:
    """Take the database down to REVISION, to go back to an older botfleet (stop the control
    plane first).

    A downgrade drops what the revisions it undoes added, and upgrading again does not bring it
    back (restoring a backup does): it says what before asking. Run it with the newer botfleet,
    the only one whose migrations know how to go down.
    """
    from botfleet.control_plane.db.migrate import (
        UnknownDowngradeTarget,
        downgrade_migrations,
        downgrade_steps,
        known_revisions,
    )

    try:
        downgrade_steps(frozenset(), revision)  # the name alone, before any connection
    except UnknownDowngradeTarget as exc:
        raise typer.BadParameter(str(exc), param_hint="REVISION") from None
    db = target(url, schema)
    where = existing(db)
    before = read_current(db, where)
    if before - {known.id for known in known_revisions()}:
        fail(
            f"{where} is at revision {listed(before)}, which this botfleet does not know: "
            "downgrade it with the newer botfleet that migrated it",
            db.url,
        )
    if not before:
        refuse_unusable_schema(db, where)
        typer.echo(f"{where} was never migrated: nothing to downgrade")
        return
    try:
        undone = downgrade_steps(before, revision)
    except UnknownDowngradeTarget as exc:
        fail(f"cannot downgrade {where}: {exc}", db.url)
    if not undone:
        typer.echo(f"{where} is already at {listed(before)}: nothing to do")
        return
    destination = undone[-1].down or "base"
    typer.echo(
        f"Downgrading {where} from {listed(before)} to {destination} loses {losses(undone)}. "
        "Upgrading again does not bring it back; restoring a backup does."
    )
    if not yes:
        try:
            confirmed = typer.confirm("Downgrade?", default=False)
        except typer.Abort:  # no terminal to answer (end of input)
            typer.echo("")
            confirmed = False
        if not confirmed:
            fail("downgrade not confirmed (--yes not to ask); nothing was changed", code=NOT_DONE)
    with database_errors(f"downgrade {where}", db.url, db.schema):
        asyncio.run(downgrade_migrations(db.url, schema=db.schema, revision=destination))
    after = read_current(db, where)
    typer.echo(f"downgraded {where}: {listed(before)} -> {listed(after)}")


def copy_problem(exc: Exception, source: str, destination: str, schema: str | None) -> str:
    """`copy_failure`'s line, with serve's advice when the target has no schema to create the
    tables in (only the target's migration creates any)."""
    from botfleet.control_plane.bootstrap import schema_unusable_hint
    from botfleet.control_plane.db.copy import copy_failure
    from botfleet.control_plane.db.engine import (
        describe_database,
        failure_reason,
        is_schema_unusable,
    )

    if is_schema_unusable(exc):
        hint = schema_unusable_hint(destination, schema, failure_reason(exc, destination))
        return (
            f"cannot copy: the target, {describe_database(destination)} {hint}; nothing was copied"
        )
    return copy_failure(exc, source, destination, schema)


@db_app.command("copy")
def copy(
    source_url: str | None = typer.Argument(
        None,
        metavar="SOURCE_URL",
        show_default=False,
        help="The old CP_DATABASE_URL (a SQLite one holds no password); or --source-env.",
    ),
    target_url: str | None = typer.Argument(
        None,
        metavar="TARGET_URL",
        show_default=False,
        help="The new one, existing and empty (default: CP_DATABASE_URL and "
        "CP_DATABASE_SCHEMA, environment or .env: its password stays off the command line).",
    ),
    source_env: str | None = typer.Option(
        None,
        "--source-env",
        metavar="VAR",
        help="Read SOURCE_URL from the environment variable VAR (then the one URL given is "
        "TARGET_URL).",
    ),
    source_schema: str | None = typer.Option(None, help="The old CP_DATABASE_SCHEMA, if any."),
    target_schema: str | None = typer.Option(
        None, help="The new CP_DATABASE_SCHEMA (default without TARGET_URL: CP_DATABASE_SCHEMA)."
    ),
    allow_other_tables: bool = typer.Option(
        False,
        "--allow-other-tables",
        help="Copy into a database (PostgreSQL: a schema) that also holds other tables.",
    ),
) -> None:
    """Copy a stopped control plane's database into an empty one (SQLite to PostgreSQL, or
    back), migrating the target first; prints the rows copied per table as JSON.

    Without TARGET_URL it copies into the control plane's own database (CP_DATABASE_URL), and
    says which on stderr. Every row moves as it is: tenants, versions, audit log, API keys and
    boot tokens (hashes: those in use keep working) and credentials (still sealed: keep
    CP_FERNET_KEYS). Exits 2, changing nothing, when it cannot (a target with rows, at a newer
    revision, or with tables of another application; a missing source, an older source), or
    when it fails midway: the target's migration and the copy are one transaction. The source
    is read in one snapshot.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from botfleet.control_plane.db.copy import (
        CopyRefused,
        CopyUsageError,
        copy_database,
        copy_failure,
        copy_urls,
    )

    given = [url for url in (source_url, target_url) if url is not None]
    source = destination = ""
    try:
        source, target_given = copy_urls(given, source_env)
    except CopyUsageError as exc:
        raise typer.BadParameter(str(exc), param_hint="SOURCE_URL / TARGET_URL") from None
    except CopyRefused as exc:
        fail(copy_failure(exc, source, destination))
    destination, schema = target_given or "", target_schema
    try:
        check_url(source, "SOURCE_URL" if source_env is None else source_env)
        if target_given is not None:
            check_url(destination, "TARGET_URL")
        else:
            destination, schema = configured_database(target_schema)
            check_url(destination, "CP_DATABASE_URL")
            typer.echo(f"copying into {where_configured(destination, schema)}", err=True)
        copied = asyncio.run(
            copy_database(
                source,
                destination,
                source_schema=source_schema,
                target_schema=schema,
                allow_other_tables=allow_other_tables,
            )
        )
    except (CopyRefused, ValueError, SQLAlchemyError, OSError) as exc:
        fail(copy_problem(exc, source, destination, schema), source, destination)
    typer.echo(json.dumps({"copied": copied}))
