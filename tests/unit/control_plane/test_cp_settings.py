"""ControlPlaneSettings: URL normalisation, environment aliases, refusal of placeholder secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from botfleet.control_plane.settings import (
    DEFAULT_DATABASE_URL,
    ControlPlaneSettings,
    database_url_from_env,
    normalise_database_url,
)

GOOD_ADMIN = "a-long-enough-admin-key-123"
GOOD_FERNET = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in ("DATABASE_URL", "CP_DATABASE_URL", "ADMIN_API_KEY", "CP_ADMIN_API_KEY",
                 "CP_FERNET_KEYS", "CP_ENVIRONMENT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(str(tmp_path))  # no stray .env file


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db/cp", "postgresql+asyncpg://u:p@db/cp"),
        ("postgresql://db/cp", "postgresql+asyncpg://db/cp"),
        ("postgresql+psycopg2://db/cp", "postgresql+asyncpg://db/cp"),
        ("sqlite:///./var/x.db", "sqlite+aiosqlite:///./var/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_url_gets_an_async_driver(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_unsupported_database_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="unsupported database scheme 'mysql'") as caught:
        normalise_database_url("mysql://root:hunter2@db/cp")
    assert "hunter2" not in str(caught.value)


def test_environment_variables_and_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://db/cp")
    monkeypatch.setenv("ADMIN_API_KEY", GOOD_ADMIN)
    monkeypatch.setenv("CP_FERNET_KEYS", f" {GOOD_FERNET} , {Fernet.generate_key().decode()}")
    monkeypatch.setenv("CP_ENVIRONMENT", "production")
    settings = ControlPlaneSettings()
    assert settings.database_url == "postgresql+asyncpg://db/cp"
    assert settings.admin_key == GOOD_ADMIN
    assert settings.fernet_key_list[0] == GOOD_FERNET
    assert len(settings.fernet_key_list) == 2
    assert settings.generated_secrets == ()
    assert database_url_from_env() == "postgresql+asyncpg://db/cp"
    assert GOOD_ADMIN not in repr(settings)


@pytest.mark.parametrize("admin", ["", "changeme", "short"])
def test_placeholder_admin_key_is_refused_outside_development(admin: str) -> None:
    with pytest.raises(ValidationError, match="CP_ADMIN_API_KEY"):
        ControlPlaneSettings(environment="production", admin_api_key=admin, fernet_keys=GOOD_FERNET)


def compose_default(variable: str) -> str:
    compose = (Path(__file__).resolve().parents[3] / "docker-compose.yml").read_text()
    match = re.search(r"\$\{" + variable + r":-([^}]+)\}", compose)
    assert match is not None, variable
    return match.group(1)


def test_the_keys_docker_compose_falls_back_to_are_refused_in_production() -> None:
    """Compose fills in public defaults when `.env` lacks a key: production must not start."""
    admin, fernet = compose_default("CP_ADMIN_API_KEY"), compose_default("CP_FERNET_KEYS")
    Fernet(fernet.encode())  # a well-formed key: only its being public makes it a placeholder
    with pytest.raises(ValidationError, match="CP_ADMIN_API_KEY"):
        ControlPlaneSettings(environment="production", admin_api_key=admin, fernet_keys=GOOD_FERNET)
    with pytest.raises(ValidationError, match="CP_FERNET_KEYS is missing or a placeholder"):
        ControlPlaneSettings(environment="production", admin_api_key=GOOD_ADMIN, fernet_keys=fernet)
    for environment in ("staging", "test"):
        with pytest.raises(ValidationError, match="CP_ADMIN_API_KEY"):
            ControlPlaneSettings(environment=environment, admin_api_key=admin, fernet_keys=fernet)
    # Compose itself runs in development with them: they are used as given there
    development = ControlPlaneSettings(
        environment="development", admin_api_key=admin, fernet_keys=fernet
    )
    assert development.generated_secrets == ()


def test_missing_or_invalid_fernet_keys_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValidationError, match="CP_FERNET_KEYS is missing"):
        ControlPlaneSettings(environment="staging", admin_api_key=GOOD_ADMIN)
    with pytest.raises(ValidationError, match="key #2 is not a valid Fernet key") as caught:
        ControlPlaneSettings(
            environment="staging", admin_api_key=GOOD_ADMIN, fernet_keys=f"{GOOD_FERNET},oops-key"
        )
    assert "oops-key" not in str(caught.value)


def test_production_refuses_to_fall_back_to_the_default_sqlite_file() -> None:
    """A forgotten CP_DATABASE_URL started production on a new, empty ./var/control_plane.db."""
    with pytest.raises(ValidationError, match="CP_DATABASE_URL is not set") as caught:
        ControlPlaneSettings(
            environment="production", admin_api_key=GOOD_ADMIN, fernet_keys=GOOD_FERNET
        )
    assert "to keep a SQLite file on purpose" in str(caught.value)
    # The same file, named on purpose, is the operator's choice.
    chosen = ControlPlaneSettings(
        environment="production", database_url=DEFAULT_DATABASE_URL,
        admin_api_key=GOOD_ADMIN, fernet_keys=GOOD_FERNET,
    )  # fmt: skip
    assert chosen.database_url == DEFAULT_DATABASE_URL
    for environment in ("development", "test", "staging"):
        other = ControlPlaneSettings(
            environment=environment, admin_api_key=GOOD_ADMIN, fernet_keys=GOOD_FERNET
        )
        assert other.database_url == DEFAULT_DATABASE_URL


def test_production_takes_the_database_url_from_the_environment_or_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CP_ENVIRONMENT", "production")
    monkeypatch.setenv("CP_ADMIN_API_KEY", GOOD_ADMIN)
    monkeypatch.setenv("CP_FERNET_KEYS", GOOD_FERNET)
    (tmp_path / ".env").write_text("CP_DATABASE_URL=sqlite:////srv/botfleet/cp.db\n")
    assert ControlPlaneSettings().database_url == "sqlite+aiosqlite:////srv/botfleet/cp.db"
    (tmp_path / ".env").unlink()
    with pytest.raises(ValidationError, match="CP_DATABASE_URL is not set"):
        ControlPlaneSettings()


def test_development_generates_ephemeral_secrets() -> None:
    settings = ControlPlaneSettings()
    assert settings.environment == "development"
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert len(settings.admin_key) >= 32
    Fernet(settings.fernet_key_list[0].encode())
    assert settings.generated_secrets == ("CP_ADMIN_API_KEY", "CP_FERNET_KEYS")
    assert ControlPlaneSettings().admin_key != settings.admin_key


@pytest.mark.parametrize(
    "mode", ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
)
def test_libpq_sslmode_becomes_asyncpgs_ssl_argument(mode: str) -> None:
    """Managed PostgreSQL hands out `?sslmode=require`; asyncpg's argument is `ssl`."""
    url = normalise_database_url(f"postgresql://u:p%40ss@db.example:5432/cp?sslmode={mode}")
    assert url == f"postgresql+asyncpg://u:p%40ss@db.example:5432/cp?ssl={mode}"
    assert normalise_database_url(url) == url  # idempotent (Alembic's env normalises again)
    settings = ControlPlaneSettings(
        environment="test", database_url=f"postgres://db/cp?sslmode={mode.upper()}",
        admin_api_key=GOOD_ADMIN, fernet_keys=GOOD_FERNET,
    )  # fmt: skip
    assert settings.database_url == f"postgresql+asyncpg://db/cp?ssl={mode}"


def test_a_unix_socket_host_parameter_is_kept() -> None:
    url = normalise_database_url("postgresql://cp@/cp?host=/run/postgresql&sslmode=disable")
    assert url.startswith("postgresql+asyncpg://cp@/cp?")
    from sqlalchemy.engine import make_url

    assert dict(make_url(url).query) == {"host": "/run/postgresql", "ssl": "disable"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "sslmode=require&channel_binding=require",
            "unsupported query parameter(s) channel_binding",
        ),
        ("application_name=cp&sslrootcert=/ca.pem", "application_name, sslrootcert"),
        ("sslmode=sometimes", "sslmode 'sometimes' is not one of disable, allow"),
        ("sslmode=require&ssl=disable", "sslmode (or ssl) twice"),
    ],
)
def test_unsupported_postgres_query_parameters_are_a_configuration_error(
    query: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        ControlPlaneSettings(
            environment="test", database_url=f"postgresql://u:hunter2@db/cp?{query}",
            admin_api_key=GOOD_ADMIN, fernet_keys=GOOD_FERNET,
        )  # fmt: skip
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_api_key_max_days_is_unset_by_default_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    def settings() -> ControlPlaneSettings:
        return ControlPlaneSettings(
            environment="test", admin_api_key=GOOD_ADMIN, fernet_keys=GOOD_FERNET
        )

    monkeypatch.delenv("CP_API_KEY_MAX_DAYS", raising=False)
    assert settings().api_key_max_days is None
    for blank in ("", "  "):  # Compose's ${CP_API_KEY_MAX_DAYS:-}: not set
        monkeypatch.setenv("CP_API_KEY_MAX_DAYS", blank)
        assert settings().api_key_max_days is None
    monkeypatch.setenv("CP_API_KEY_MAX_DAYS", "90")
    assert settings().api_key_max_days == 90
    for wrong in ("0", "731", "ninety"):
        monkeypatch.setenv("CP_API_KEY_MAX_DAYS", wrong)
        with pytest.raises(ValidationError, match="api_key_max_days"):
            settings()
