"""ControlPlaneSettings: the control plane's environment, validated once at start-up."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from botfleet.control_plane.models import MAX_API_KEY_LIFETIME_DAYS
from botfleet.control_plane.url_policy import TenantUrlPolicy

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/control_plane.db"

Environment = Literal["development", "test", "staging", "production"]

# Values people paste from examples; refused outside development.
_PLACEHOLDERS = frozenset(
    {"", "changeme", "change-me", "changethis", "change_me", "secret", "admin", "password",
     "test", "dev", "xxx", "todo", "placeholder", "example"}
)  # fmt: skip
_MIN_ADMIN_KEY_LENGTH = 16


#: libpq's ``sslmode`` values, which asyncpg takes as its ``ssl`` argument.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
#: Query parameters a PostgreSQL URL may carry: ``sslmode`` (libpq's name, as managed
#: providers hand it out) or ``ssl``, and ``host`` (a Unix socket directory or several hosts).
_POSTGRES_QUERY = frozenset({"sslmode", "ssl", "host"})


def _asyncpg_url(rest: str) -> str:
    """``postgresql+asyncpg://`` + `rest`, its query made into asyncpg's connect arguments:
    ``sslmode=require`` becomes ``ssl=require``; any other parameter is refused (asyncpg would
    fail on the first connection with a TypeError). Messages name parameters, never values
    other than an ``sslmode``."""
    url = f"postgresql+asyncpg://{rest}"
    if "?" not in rest:
        return url
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("the PostgreSQL URL cannot be parsed (its text is not shown)") from None
    query = dict(parsed.query)
    unknown = sorted(set(query) - _POSTGRES_QUERY)
    if unknown:
        raise ValueError(
            f"the PostgreSQL URL has unsupported query parameter(s) {', '.join(unknown)} "
            "(supported: sslmode, ssl, host; a certificate file goes in PGSSLROOTCERT, "
            "PGSSLCERT and PGSSLKEY)"
        )
    given = [query.pop(name) for name in ("sslmode", "ssl") if name in query]
    modes = {m.strip().lower() for v in given for m in ((v,) if isinstance(v, str) else v)}
    if len(modes) > 1:
        raise ValueError("the PostgreSQL URL gives sslmode (or ssl) twice, with different values")
    if modes:
        mode = modes.pop()
        if mode not in SSL_MODES:
            raise ValueError(f"sslmode {mode[:20]!r} is not one of {', '.join(SSL_MODES)}")
        query["ssl"] = mode
    return parsed.set(query=query).render_as_string(hide_password=False)


def normalise_database_url(url: str) -> str:
    """Give the URL an async driver: ``postgres://`` -> ``postgresql+asyncpg://`` and so on.

    A PostgreSQL URL's ``?sslmode=...`` (libpq's spelling) becomes asyncpg's ``ssl=...``.

    Raises:
        ValueError: the scheme is not SQLite or PostgreSQL, or a PostgreSQL URL has a query
            parameter asyncpg cannot take (the message never echoes the URL, which may hold
            a password).
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        raise ValueError(
            "database URL must look like 'sqlite+aiosqlite:///path' or 'postgresql://…'"
        )
    base = scheme.split("+", 1)[0].lower()
    if base in {"postgres", "postgresql"}:
        return _asyncpg_url(rest)
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    raise ValueError(f"unsupported database scheme {base!r} (use sqlite or postgresql)")


def database_url_from_env() -> str:
    """The database URL from ``CP_DATABASE_URL``/``DATABASE_URL`` (for Alembic's CLI)."""
    raw = (
        os.environ.get("CP_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    return normalise_database_url(raw)


#: Marks the defaults docker-compose.yml fills in (public, so never fit for production).
_LOCAL_ONLY = "local-only"


def _is_placeholder(value: str, *, development: bool) -> bool:
    """An example value. Compose's local-only defaults pass in development (Compose runs with
    them there: replacing them would lock out its own provisioning), nowhere else."""
    text = value.strip().lower()
    if text in _PLACEHOLDERS:
        return True
    if development:
        return False
    if _LOCAL_ONLY in text:
        return True
    try:  # a Fernet key is base64: the Compose default spells "local-only" once decoded
        decoded = base64.urlsafe_b64decode(value.strip().encode())
    except (ValueError, binascii.Error):
        return False
    return _LOCAL_ONLY.encode() in decoded.lower()


class ControlPlaneSettings(BaseSettings):
    """Everything the control plane reads from its environment (prefix ``CP_``)."""

    model_config = SettingsConfigDict(
        env_prefix="CP_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        # Validation errors must not print the offending input: it holds the secrets.
        hide_input_in_errors=True,
    )

    environment: Environment = "development"
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("CP_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    #: PostgreSQL only: schema to use (search_path), so the CP can share a database.
    database_schema: str | None = None
    admin_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("CP_ADMIN_API_KEY", "ADMIN_API_KEY", "admin_api_key"),
    )
    #: Comma-separated Fernet keys; the first encrypts, all decrypt.
    fernet_keys: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CP_FERNET_KEYS", "fernet_keys")
    )
    migrate_on_startup: bool = True
    #: Attempts to reach the database at start-up (a container may start before its DB).
    startup_db_attempts: int = Field(default=10, ge=1)
    log_level: str = "INFO"
    log_json: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=1, le=65535)
    #: Timeout of each call to a data plane (status, fleet).
    data_plane_timeout_s: float = Field(default=2.0, gt=0, le=30)
    max_flow_bytes: int = Field(default=512 * 1024, gt=0)
    max_knowledge_bytes: int = Field(default=256 * 1024, gt=0)
    #: Where a tenant API key may point the URLs of its bindings (the data plane calls them):
    #: ``public`` hosts only, or ``any`` (see `control_plane.url_policy`). The admin key may
    #: always set any URL.
    tenant_url_policy: TenantUrlPolicy = "public"
    #: Timeout of each DNS lookup of that check (a name not resolved in time is refused).
    tenant_url_dns_timeout_s: float = Field(default=2.0, gt=0, le=30)
    #: The longest a new tenant API key may live, in days (None: no limit). A key asked for
    #: without an expiry gets one this far away; one asked to live longer is refused (422).
    api_key_max_days: int | None = Field(default=None, ge=1, le=MAX_API_KEY_LIFETIME_DAYS)
    #: Serve Swagger UI at /docs. Its script comes from a CDN (pinned and integrity-checked);
    #: false where the admin key must never be typed into a page with a third party's script.
    api_docs: bool = True

    _generated: list[str] = PrivateAttr(default_factory=list)

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("tenant_url_policy", mode="before")
    @classmethod
    def _policy_word(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("api_key_max_days", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # Compose's `${CP_API_KEY_MAX_DAYS:-}` passes an empty string for "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_schema")
    @classmethod
    def _plain_schema_name(cls, value: str | None) -> str | None:
        if value is not None and not value.replace("_", "").isalnum():
            raise ValueError("database_schema must be letters, digits and underscores")
        return value

    @model_validator(mode="after")
    def _secrets_present(self) -> ControlPlaneSettings:
        dev = self.environment == "development"
        admin = self.admin_api_key.get_secret_value() if self.admin_api_key else ""
        if _is_placeholder(admin, development=dev) or len(admin) < _MIN_ADMIN_KEY_LENGTH:
            if not dev:
                raise ValueError(
                    "CP_ADMIN_API_KEY is missing, a placeholder or shorter than "
                    f"{_MIN_ADMIN_KEY_LENGTH} characters "
                    "(only allowed with environment=development)"
                )
            self.admin_api_key = SecretStr(secrets.token_urlsafe(32))
            self._generated.append("CP_ADMIN_API_KEY")
        raw_keys = self.fernet_keys.get_secret_value() if self.fernet_keys else ""
        keys = [k.strip() for k in raw_keys.split(",") if k.strip()]
        if not keys or any(_is_placeholder(k, development=dev) for k in keys):
            if not dev:
                raise ValueError(
                    "CP_FERNET_KEYS is missing or a placeholder (only allowed with "
                    "environment=development); generate one with "
                    "`python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'`"
                )
            keys = [Fernet.generate_key().decode()]
            self._generated.append("CP_FERNET_KEYS")
        for index, key in enumerate(keys):
            try:
                Fernet(key.encode())
            except ValueError:
                raise ValueError(
                    f"CP_FERNET_KEYS: key #{index + 1} is not a valid Fernet key "
                    "(32 url-safe base64-encoded bytes)"
                ) from None
        self.fernet_keys = SecretStr(",".join(keys))
        return self

    @model_validator(mode="after")
    def _database_chosen(self) -> ControlPlaneSettings:
        # A forgotten CP_DATABASE_URL would start production on a new, empty SQLite file
        # (relative to the folder it starts in: `/` under systemd) that /health calls ok,
        # while every data plane's boot token is refused.
        if self.environment == "production" and "database_url" not in self.model_fields_set:
            raise ValueError(
                "CP_DATABASE_URL is not set (with environment=production the control plane "
                "does not fall back to the SQLite file ./var/control_plane.db): set it to the "
                "database, postgresql://user:password@host:5432/name, or, to keep a SQLite "
                "file on purpose, to its path, sqlite:////srv/botfleet/cp.db"
            )
        return self

    @property
    def fernet_key_list(self) -> list[str]:
        """The Fernet keys, primary first."""
        assert self.fernet_keys is not None  # set by the validator
        return self.fernet_keys.get_secret_value().split(",")

    @property
    def admin_key(self) -> str:
        assert self.admin_api_key is not None  # set by the validator
        return self.admin_api_key.get_secret_value()

    @property
    def generated_secrets(self) -> tuple[str, ...]:
        """Names of the secrets generated for this process only (development)."""
        return tuple(self._generated)
