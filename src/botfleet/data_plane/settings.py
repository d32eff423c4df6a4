"""Settings of a data plane process (environment variables; the seed's names work unprefixed)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"DP_{name}", name)


class DataPlaneSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    tenant_config_path: Path | None = Field(
        default=None, validation_alias=_env("TENANT_CONFIG_PATH")
    )
    state_db_path: Path | None = Field(default=None, validation_alias=_env("STATE_DB_PATH"))
    data_dir: Path = Field(default=Path("var/data-plane"), validation_alias=_env("DATA_DIR"))
    control_plane_url: str | None = Field(default=None, validation_alias=_env("CONTROL_PLANE_URL"))
    tenant_id: str | None = Field(default=None, validation_alias=_env("TENANT_ID"))
    boot_token: str | None = Field(default=None, validation_alias=_env("BOOT_TOKEN"))
    #: Encrypts the cached boot config (with secrets) on the tenant's volume.
    cache_key: str | None = Field(default=None, validation_alias=_env("CACHE_KEY"))
    config_poll_s: float = Field(default=30.0, validation_alias=_env("CONFIG_POLL_S"))
    internal_token: str | None = Field(default=None, validation_alias=_env("INTERNAL_TOKEN"))
    host: str = Field(default="127.0.0.1", validation_alias=_env("HOST"))
    port: int = Field(default=8002, validation_alias=_env("PORT"))
    log_level: str = Field(default="info", validation_alias=_env("LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=_env("LOG_JSON"))
    connector_timeout_s: float = Field(default=10.0, validation_alias=_env("CONNECTOR_TIMEOUT_S"))
    #: Scheduled jobs found due less than this late still run (once); later ones are missed.
    scheduler_grace_s: int = Field(default=300, ge=1, validation_alias=_env("SCHEDULER_GRACE_S"))

    def state_db_for(self, tenant_id: str) -> Path:
        return self.state_db_path or self.data_dir / tenant_id / "state.db"
