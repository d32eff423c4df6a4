"""`botfleet db ...`: the control plane's database from the command line, on SQLite and (when
reachable) PostgreSQL, the database named by CP_DATABASE_URL / CP_DATABASE_SCHEMA or --url /
--schema; failures are one `error:` line with no password in it. `db copy` without TARGET_URL
copies into that configured database, its password never on the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from cp_harness import Database, make_settings, running_control_plane
from sqlalchemy import text
from typer.testing import CliRunner

from botfleet.cli.main import app
from botfleet.control_plane.db.engine import describe_database, make_engine
from botfleet.control_plane.db.migrate import (
    DOWNGRADE_LOSSES,
    VERSION_TABLE,
    head_revisions,
    known_revisions,
)

HEAD = next(iter(head_revisions()))
BELOW_HEAD = known_revisions()[1].id
PASSWORD = "hunter2-Sup3rSecret"


async def botfleet(
    *args: str, env: dict[str, str | None] | None = None, answer: str | None = None
) -> Result:
    # The commands run their own event loop: not on this test's.
    return await asyncio.to_thread(CliRunner().invoke, app, ["db", *args], env=env, input=answer)


def env_of(database: Database) -> dict[str, str | None]:
    return {"CP_DATABASE_URL": database.url, "CP_DATABASE_SCHEMA": database.schema}


def one_error_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(autouse=True)
def _no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The settings read .env from the current folder: the checkout's must not count.
    monkeypatch.chdir(tmp_path)


async def test_current_history_upgrade_and_downgrade_on_a_fresh_database(
    database: Database,
) -> None:
    env = env_of(database)
    if database.kind == "sqlite":
        missing = await botfleet("current", env=env)
        assert missing.exit_code == 2
        assert "does not exist" in one_error_line(missing)
    else:
        never = await botfleet("current", env=env)
        assert never.exit_code == 1, never.output
        assert never.stdout.startswith("none: ") and "never migrated" in never.stdout

    up = await botfleet("upgrade", env=env)
    assert up.exit_code == 0, up.output
    assert f"none (never migrated) -> {HEAD} (head)" in up.stdout
    again = await botfleet("upgrade", env=env)
    assert "nothing to do" in again.stdout

    current = await botfleet("current", env=env)
    assert current.exit_code == 0, current.output
    assert current.stdout.startswith(f"{HEAD} (head): ")

    history = (await botfleet("history", env=env)).stdout.splitlines()
    assert [line.split()[0] for line in history] == [r.id for r in known_revisions()]
    assert history[0].startswith(f"{HEAD} (head) (current)  ")
    assert "(current)" not in "".join(history[1:])

    refused = await botfleet("downgrade", BELOW_HEAD, env=env, answer="n\n")
    assert refused.exit_code == 1
    # What the downgrade below the head loses, said first (DOWNGRADE_LOSSES).
    assert DOWNGRADE_LOSSES[HEAD] in " ".join(refused.stdout.split())
    assert "nothing was changed" in one_error_line(refused)
    no_terminal = await botfleet("downgrade", "-1", env=env, answer="")
    assert no_terminal.exit_code == 1
    assert (await botfleet("current", env=env)).exit_code == 0

    down = await botfleet("downgrade", "-1", env=env, answer="y\n")
    assert down.exit_code == 0, down.output
    assert "downgraded the " in down.stdout and f": {HEAD} -> {BELOW_HEAD}" in down.stdout
    behind = await botfleet("current", env=env)
    assert behind.exit_code == 1
    assert behind.stdout.startswith(f"{BELOW_HEAD}: ") and "is behind" in behind.stdout
    history = (await botfleet("history", env=env)).stdout.splitlines()
    assert history[1].startswith(f"{BELOW_HEAD} (current)  ")

    upward = await botfleet("downgrade", HEAD, "--yes", env=env)
    assert upward.exit_code == 2
    assert "is not below" in one_error_line(upward)

    to_base = await botfleet("downgrade", "base", "--yes", env=env)
    assert to_base.exit_code == 0, to_base.output
    assert "every control-plane table" in to_base.stdout
    assert (await botfleet("current", env=env)).stdout.startswith("none: ")
    assert (await botfleet("upgrade", env=env)).exit_code == 0


async def test_the_options_override_the_environment(database: Database, tmp_path: Path) -> None:
    elsewhere = {"CP_DATABASE_URL": f"sqlite:///{tmp_path / 'not-this.db'}"}
    options = ["--url", database.url, *(["--schema", database.schema] if database.schema else [])]
    up = await botfleet("upgrade", *options, env=elsewhere)
    assert up.exit_code == 0, up.output
    assert (await botfleet("current", *options, env=elsewhere)).exit_code == 0
    assert not (tmp_path / "not-this.db").exists()

    bad = await botfleet("current", "--url", "mysql://u:pw@h/x", env=elsewhere)
    assert bad.exit_code == 2
    assert "--url: unsupported database scheme 'mysql'" in one_error_line(bad)


async def test_a_database_migrated_by_a_newer_botfleet(database: Database) -> None:
    env = env_of(database)
    assert (await botfleet("upgrade", env=env)).exit_code == 0
    engine = make_engine(database.url, schema=database.schema)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    finally:
        await engine.dispose()

    ahead = await botfleet("current", env=env)
    assert ahead.exit_code == 1
    assert ahead.stdout.startswith("9999: ") and "is ahead of this botfleet" in ahead.stdout
    for args in (("upgrade",), ("downgrade", "base", "--yes")):
        refused = await botfleet(*args, env=env)
        assert refused.exit_code == 2, args
        assert "revision 9999" in one_error_line(refused).replace("'", "")


async def test_copy_round_trip_through_the_cli(database: Database, tmp_path: Path) -> None:
    source = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    async with running_control_plane(make_settings(source)) as old:
        await old.create_tenant("acme")
        assert (await old.upload_flow("acme", "1", publish=True)).status_code == 201

    schema: list[str] = ["--target-schema", database.schema] if database.schema else []
    there = await botfleet("copy", source.url, database.url, *schema)
    assert there.exit_code == 0, there.output
    copied: dict[str, Any] = json.loads(there.stdout)["copied"]
    assert copied["tenants"] == 1 and copied["flow_versions"] == 1

    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    schema = ["--source-schema", database.schema] if database.schema else []
    back = await botfleet("copy", database.url, back_url, *schema)
    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout)["copied"] == copied
    async with running_control_plane(make_settings(Database("sqlite", back_url))) as new:
        flows = await new.client.get("/v1/tenants/acme/flows", headers=new.admin)
        assert flows.status_code == 200, flows.text
        assert flows.json()["published_version"] == 1

    again = await botfleet("copy", source.url, back_url)
    assert again.exit_code == 2
    assert "already holds rows" in one_error_line(again)


@pytest.mark.parametrize(
    "args",
    [
        ("current",),
        ("history",),
        ("upgrade",),
        ("downgrade", "base", "--yes"),
    ],
)
async def test_an_unreachable_database_is_one_line_without_the_password(
    args: tuple[str, ...],
) -> None:
    url = f"postgresql://botfleet:{PASSWORD}@127.0.0.1:1/botfleet"  # nothing listens on port 1
    result = await botfleet(*args, "--url", url)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "the PostgreSQL database 'botfleet' at 127.0.0.1:1 as user 'botfleet'" in line
    assert PASSWORD not in result.output


async def test_copy_failures_show_neither_password() -> None:
    source = f"postgresql://old:{PASSWORD}-a@127.0.0.1:1/botfleet"
    target = f"postgresql://new:{PASSWORD}-b@127.0.0.1:1/botfleet"
    result = await botfleet("copy", source, target)
    assert result.exit_code == 2
    assert one_error_line(result).startswith("error: cannot copy: ")
    assert PASSWORD not in result.output

    wrong = await botfleet("copy", f"mysql://u:{PASSWORD}@h/x", target)
    assert wrong.exit_code == 2
    assert "unsupported database scheme 'mysql'" in one_error_line(wrong)
    assert PASSWORD not in wrong.output


async def test_copy_without_target_fills_the_configured_database(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    async with running_control_plane(make_settings(source)) as old:
        await old.create_tenant("acme")
    # Where the operator keeps it for the control plane anyway: .env, not the command line.
    configured = f"CP_DATABASE_URL={database.url}\n"
    if database.schema:
        configured += f"CP_DATABASE_SCHEMA={database.schema}\n"
    (tmp_path / ".env").write_text(configured)
    for name in ("CP_DATABASE_URL", "DATABASE_URL", "CP_DATABASE_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    engine = make_engine(database.url, schema=database.schema)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE wiki_pages (id INTEGER PRIMARY KEY)"))
    finally:
        await engine.dispose()
    where = describe_database(database.url)
    if database.schema:
        where += f", schema {database.schema}"

    other = await botfleet("copy", source.url)
    assert other.exit_code == 2
    assert other.stderr.startswith(f"copying into {where} (CP_DATABASE_URL)\n")
    assert "not the control plane's (wiki_pages)" in other.stderr.splitlines()[1]

    copied = await botfleet("copy", source.url, "--allow-other-tables")
    assert copied.exit_code == 0, copied.output
    assert json.loads(copied.stdout)["copied"]["tenants"] == 1
    async with running_control_plane(make_settings(database)) as new:
        tenant = await new.client.get("/v1/tenants/acme", headers=new.admin)
        assert tenant.status_code == 200, tenant.text

    again = await botfleet("copy", "--source-env", "OLD", env={"OLD": source.url})
    assert again.exit_code == 2  # the source from a variable; the rows now there refused


async def test_upgrade_without_a_url_does_not_make_the_default_sqlite_file(
    tmp_path: Path,
) -> None:
    """It created and migrated ./var/control_plane.db (status 0) where `current` refused."""
    unset: dict[str, str | None] = {
        "CP_DATABASE_URL": None, "DATABASE_URL": None, "CP_DATABASE_SCHEMA": None,
        "CP_ENVIRONMENT": None,
    }  # fmt: skip
    refused = await botfleet("upgrade", env=unset)
    assert refused.exit_code == 2, refused.output
    assert one_error_line(refused) == (
        "error: the SQLite database ./var/control_plane.db does not exist "
        "(set CP_DATABASE_URL, or give --url)"
    )
    assert refused.stdout == ""
    production = await botfleet("upgrade", env={**unset, "CP_ENVIRONMENT": "production"})
    assert production.exit_code == 2, production.output
    assert "CP_DATABASE_URL is not set" in one_error_line(production)
    assert not (tmp_path / "var").exists()

    # Named on purpose, a new SQLite file is made and migrated; the default one then exists.
    named = await botfleet("upgrade", "--url", "sqlite:///./var/control_plane.db", env=unset)
    assert named.exit_code == 0, named.output
    assert f"none (never migrated) -> {HEAD} (head)" in named.stdout
    again = await botfleet("upgrade", env=unset)
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.stdout
    other = {**unset, "CP_DATABASE_URL": f"sqlite:///{tmp_path / 'new' / 'cp.db'}"}
    assert (await botfleet("upgrade", env=other)).exit_code == 0
    assert (tmp_path / "new" / "cp.db").is_file()


async def test_copy_without_target_needs_cp_database_url(tmp_path: Path) -> None:
    source = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    async with running_control_plane(make_settings(source)) as old:
        await old.create_tenant("acme")
    unset: dict[str, str | None] = {"CP_DATABASE_URL": None, "DATABASE_URL": None}
    result = await botfleet("copy", source.url, env=unset)
    assert result.exit_code == 2
    assert "CP_DATABASE_URL is not set" in one_error_line(result)
    assert not (tmp_path / "var").exists()  # not the default SQLite file, created empty

    unset_source = await botfleet("copy", "--source-env", "NOT_SET", env={"NOT_SET": None})
    assert unset_source.exit_code == 2
    assert "the variable NOT_SET is not set" in one_error_line(unset_source)
    three = await botfleet("copy", "--source-env", "OLD", "a", "b", env={"OLD": source.url})
    assert three.exit_code == 2
    assert "with --source-env, give only TARGET_URL" in " ".join(
        three.stderr.replace("│", " ").split()  # typer's usage box wraps its lines
    )


async def test_copy_from_the_environment_to_the_configured_database_shows_no_password() -> None:
    env: dict[str, str | None] = {
        "OLD_URL": f"postgresql://old:{PASSWORD}-a@127.0.0.1:1/botfleet",
        "CP_DATABASE_URL": f"postgresql://new:{PASSWORD}-b@127.0.0.1:1/botfleet",
    }
    result = await botfleet("copy", "--source-env", "OLD_URL", env=env)
    assert result.exit_code == 2
    announced, error = result.stderr.splitlines()
    assert announced == (
        "copying into the PostgreSQL database 'botfleet' at 127.0.0.1:1 as user 'new' "
        "(CP_DATABASE_URL)"
    )
    assert error.startswith("error: cannot copy: ")
    assert PASSWORD not in result.output


async def test_copy_refuses_a_wrong_scheme_in_one_line(tmp_path: Path) -> None:
    result = await botfleet("copy", f"mysql://u:{PASSWORD}@h/x", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 2
    assert "cannot copy: unsupported database scheme 'mysql'" in one_error_line(result)
    assert PASSWORD not in result.output


#: Passwords with an `@` left unencoded: the parser takes the rest of the password for the host
#: or the port, and its error quoted that part (`'wd9@127.0.0.1'`).
UNENCODED = {
    "port": ("postgresql://cp:hunter2@Sup3r:Secret9@127.0.0.1/cp", "Secret9"),
    "host": ("postgresql://cp:hunter2@Sup3rSecret@127.0.0.1:1/cp", "Sup3rSecret"),
}


@pytest.mark.parametrize(("url", "rest"), UNENCODED.values(), ids=UNENCODED.keys())
async def test_an_unencoded_at_in_a_password_shows_no_part_of_it(
    url: str, rest: str, tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'new.db'}"
    results = [
        await botfleet("current", "--url", url),
        await botfleet("upgrade", env={"CP_DATABASE_URL": url}),
        await botfleet("copy", url, target),
        await botfleet("copy", "--source-env", "OLD", target, env={"OLD": url}),
        await botfleet("copy", f"sqlite:///{tmp_path / 'old.db'}", env={"CP_DATABASE_URL": url}),
    ]
    for result in results:
        assert result.exit_code == 2
        line = one_error_line(result)
        assert "percent-encode" in line
        assert rest not in result.output and "hunter2" not in result.output
    assert not (tmp_path / "new.db").exists()
