"""Settings of a data plane process (environment variables; the seed's names work unprefixed).

`DataPlaneSettings()` reads its fields as pydantic-settings' `BaseSettings` did with
`env_file=".env"` (the class was one until the data plane's idle RSS had to shrink: importing
pydantic-settings, with python-dotenv and its providers for clouds and command lines, costs
each tenant's process ~1.3 MB): keyword arguments over environment variables over a `.env`
file in the working directory; each field under `DP_<NAME>` or `<NAME>` (the prefixed name
wins), matched without regard to case; the values are validated by pydantic as given.
`model_validate` reads them too, as before (pydantic validates through a model's own
`__init__`). tests/unit/data_plane/test_settings_env.py compares it with a `BaseSettings` of
the same fields.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.fields import FieldInfo

from botfleet.domain.tenant_ids import local_tenant_id_problem, registered_tenant_id_problem

#: Read from the working directory, below the environment variables.
ENV_FILE = ".env"


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"DP_{name}", name)


def _stripped(value: Any) -> Any:
    """Surrounding whitespace off (a value read from a file often ends with a newline)."""
    return value.strip() if isinstance(value, str) else value


def _bearer_token(setting: str) -> Callable[[Any], Any]:
    """A validator for a token sent or checked as ``Bearer <token>``: stripped; refused (never
    shown) with whitespace or control characters inside, which no HTTP header can carry."""

    def check(value: Any) -> Any:
        value = _stripped(value)
        if isinstance(value, str) and not all("!" <= c <= "~" for c in value):
            raise ValueError(
                f"{setting} must be one token of printable ASCII characters, without spaces or "
                "control characters inside (the value is not shown)"
            )
        return value

    return check


def _is_fernet_key(key: str) -> bool:
    """What `cryptography.fernet.Fernet(key)` accepts, without importing it (~7 MB of RSS)."""
    try:
        return len(base64.urlsafe_b64decode(key)) == 32
    except (ValueError, binascii.Error):
        return False


def _cache_keys(value: Any) -> Any:
    """Comma-separated Fernet keys, empty entries dropped; a blank value means unset.

    Refused (the setting named, never a key) when no key is left or one is not a Fernet key.
    """
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise ValueError("DP_CACHE_KEY holds no key, only commas (the value is not shown)")
    for number, key in enumerate(keys, start=1):
        if not _is_fernet_key(key):
            raise ValueError(
                f"DP_CACHE_KEY: key {number} of {len(keys)} is not a Fernet key (32 url-safe "
                "base64-encoded bytes; the value is not shown)"
            )
    return ",".join(keys)


class DataPlaneSettings(BaseModel):
    # validate_default: as BaseSettings (defaults are validated too). hide_input_in_errors: a
    # refused BOOT_TOKEN or CACHE_KEY must not be printed with the error.
    model_config = ConfigDict(
        extra="ignore", populate_by_name=True, validate_default=True, hide_input_in_errors=True
    )
    #: False: only the keyword arguments count (tests: `botfleet.testing.make_settings`).
    read_environment: ClassVar[bool] = True

    tenant_config_path: Path | None = Field(
        default=None, validation_alias=_env("TENANT_CONFIG_PATH")
    )
    state_db_path: Path | None = Field(default=None, validation_alias=_env("STATE_DB_PATH"))
    data_dir: Path = Field(default=Path("var/data-plane"), validation_alias=_env("DATA_DIR"))
    control_plane_url: str | None = Field(default=None, validation_alias=_env("CONTROL_PLANE_URL"))
    tenant_id: Annotated[str | None, BeforeValidator(_stripped)] = Field(
        default=None, validation_alias=_env("TENANT_ID")
    )
    boot_token: Annotated[str | None, BeforeValidator(_bearer_token("DP_BOOT_TOKEN"))] = Field(
        default=None, validation_alias=_env("BOOT_TOKEN")
    )
    #: Encrypts the cached boot config (with secrets) on the tenant's volume: comma-separated
    #: Fernet keys, the first one seals (empty entries are dropped).
    cache_key: Annotated[str | None, BeforeValidator(_cache_keys)] = Field(
        default=None, validation_alias=_env("CACHE_KEY")
    )
    # Finite: "nan" would stop the polling for good (every comparison with it false), "inf"
    # too, silently.
    config_poll_s: float = Field(
        default=30.0, allow_inf_nan=False, validation_alias=_env("CONFIG_POLL_S")
    )
    internal_token: Annotated[str | None, BeforeValidator(_bearer_token("DP_INTERNAL_TOKEN"))] = (
        Field(default=None, validation_alias=_env("INTERNAL_TOKEN"))
    )
    host: str = Field(default="127.0.0.1", validation_alias=_env("HOST"))
    port: int = Field(default=8002, validation_alias=_env("PORT"))
    log_level: str = Field(default="info", validation_alias=_env("LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=_env("LOG_JSON"))
    connector_timeout_s: float = Field(
        default=10.0, allow_inf_nan=False, validation_alias=_env("CONNECTOR_TIMEOUT_S")
    )
    #: Scheduled jobs found due less than this late still run (once); later ones are missed.
    scheduler_grace_s: int = Field(default=300, ge=1, validation_alias=_env("SCHEDULER_GRACE_S"))
    #: Webhook deliveries get 503 (providers retry) while this many messages wait for turns.
    max_backlog: int = Field(default=50_000, ge=1, validation_alias=_env("MAX_BACKLOG"))
    #: Serve Swagger UI at /docs (development): off by default, since its page would run a
    #: CDN's script on the web chat's origin (docs/decisions.md). /openapi.json is served anyway.
    api_docs: bool = Field(default=False, validation_alias=_env("API_DOCS"))

    @model_validator(mode="after")
    def _usable_tenant_id(self) -> DataPlaneSettings:
        problem = tenant_id_problem(self.tenant_id, self.control_plane_url)
        if problem is not None:
            raise ValueError(problem)
        return self

    def __init__(self, **values: Any) -> None:
        """Keyword arguments (by field name or variable name) over the environment."""
        sources = (dotenv_values(), os.environ) if type(self).read_environment else ()
        super().__init__(**settings_input(type(self), values, sources))

    @classmethod
    def given_by(cls, field_name: str) -> str | None:
        """The variable that gives `field_name` its value when read from the environment: its
        name as spelled there (``DP_HOST``, ``HOST``: an unprefixed one is easily left over by
        something else), with `` in .env`` when it comes from that file; None when neither has
        it (or the class reads no environment: `read_environment`)."""
        if not cls.read_environment:
            return None
        field = cls.model_fields[field_name]
        candidates = list(dict.fromkeys(name.lower() for name in _names(field_name, field)))
        for source, where in ((os.environ, ""), (dotenv_values(), " in .env")):
            spelled = {name.lower(): name for name, value in source.items() if value is not None}
            found = next((spelled[c] for c in candidates if c in spelled), None)
            if found is not None:
                return f"{found}{where}"
        return None

    def state_db_for(self, tenant_id: str) -> Path:
        return self.state_db_path or self.data_dir / tenant_id / "state.db"

    def state_db_setting(self) -> str:
        """The variable that places `state_db_for`'s file, for messages about its folder."""
        return "DP_STATE_DB_PATH" if self.state_db_path is not None else "DP_DATA_DIR"


def tenant_id_problem(tenant_id: str | None, control_plane_url: str | None) -> str | None:
    """Why `DP_TENANT_ID` is refused at start, or None. One that names no folder of its own
    (`..`) would have the data plane write beside its data folder; one the control plane never
    registers would be asked for forever."""
    if not tenant_id:  # none, or blank: not set (the boot pull says what is missing)
        return None
    if control_plane_url is not None:
        problem = registered_tenant_id_problem(tenant_id)
    else:
        problem = local_tenant_id_problem(tenant_id)
    return None if problem is None else f"DP_TENANT_ID: {problem}"


def dotenv_values(path: str = ENV_FILE) -> Mapping[str, str | None]:
    """The variables of the `.env` file at `path`, if there is one (python-dotenv's parser,
    imported only then: quotes, `export`, `${VAR}` expansion as pydantic-settings had them)."""
    file = Path(path).expanduser()
    if not (file.is_file() or file.is_fifo()):
        return {}
    from dotenv import dotenv_values as read

    return read(file, encoding="utf-8")


def _names(field_name: str, field: FieldInfo) -> Iterator[str]:
    """The names a field is given by, the preferred one first: its aliases, then its name."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        yield from (choice for choice in alias.choices if isinstance(choice, str))
    elif isinstance(alias, str):
        yield alias
    yield field_name


def settings_input(
    model: type[BaseModel],
    arguments: Mapping[str, Any],
    sources: tuple[Mapping[str, str | None], ...],
) -> dict[str, Any]:
    """The input to validate `model` with: for each field, the keyword argument named like it,
    else the value of the last of `sources` (lowest priority first) that has it, under the
    field's preferred name; names match without regard to case, and among a field's names the
    preferred one first (`DP_PORT` before `PORT`). A source's variable without a value (a
    `.env` line without `=`) does not count. Unknown arguments are passed on (and ignored)."""
    values: dict[str, Any] = {}
    fields = [
        (name, field, list(dict.fromkeys(n.lower() for n in _names(name, field))))
        for name, field in model.model_fields.items()
    ]
    for source in sources:
        variables = {name.lower(): value for name, value in source.items()}
        for name, field, candidates in fields:
            found = next((variables[c] for c in candidates if variables.get(c) is not None), None)
            if found is not None:
                values[next(_names(name, field))] = found
    unused = dict(arguments)
    by_lower: dict[str, list[str]] = {}
    for key in arguments:
        by_lower.setdefault(key.lower(), []).append(key)
    for name, field, candidates in fields:
        matched = [key for c in candidates for key in by_lower.get(c, ()) if key in unused]
        if matched:
            values[next(_names(name, field))] = arguments[matched[0]]
            for key in matched:
                del unused[key]
            # Under a name it was given by exactly, as BaseSettings does (errors name it): one
            # of them if several (which one: set order, as there).
            exact = set(arguments) & set(_names(name, field))
            if exact:
                values[next(iter(exact))] = values.pop(next(_names(name, field)))
    return {**values, **unused}
