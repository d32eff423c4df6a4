"""Tenant configuration (the seed's local YAML format, `TENANT_CONFIG_PATH`) as pydantic models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from botfleet.domain.channel_ids import more_channel_problems
from botfleet.domain.config_problems import config_problems
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_ids import LOCAL_TENANT_ID_PATTERN, local_tenant_id_problem
from botfleet.domain.timezones import check_zone_name
from botfleet.domain.yaml_text import safe_load


class Binding(BaseModel):
    """A channel or connector binding: `type` picks the adapter, the rest is its settings."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(min_length=1)

    def settings(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    enabled: bool = False
    provider: str = "mock_llm"
    knowledge_version: str | None = None
    quota_monthly_tokens: int | None = Field(default=None, ge=0)


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The pattern is for editors; `_usable_id` says the rule in words.
    tenant_id: str = Field(min_length=1, json_schema_extra={"pattern": LOCAL_TENANT_ID_PATTERN})
    name: str = ""
    timezone: str = "UTC"
    language: str = "en"
    flow_path: str | None = None
    flow: dict[str, Any] | None = None
    #: The flow as YAML text (the control plane's boot payload): error lines stay meaningful.
    flow_yaml: str | None = None
    channel: Binding = Field(default_factory=lambda: Binding(type="webchat"))
    #: Further channels of the same bot (docs/channels.md, "Several channels"): each of another
    #: kind than `channel`'s, its ids prefixed with its kind, its webhook at `/webhook/<kind>`.
    more_channels: list[Binding] = Field(default_factory=list)
    connectors: dict[str, Binding] = Field(default_factory=dict)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    knowledge_path: str | None = None
    knowledge: str | None = None
    #: Folder of the YAML file; relative paths resolve against it.
    base_dir: str = Field(default=".", exclude=True)
    source: str = Field(default="<tenant>", exclude=True)

    @field_validator("tenant_id")
    @classmethod
    def _usable_id(cls, value: str) -> str:
        problem = local_tenant_id_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_zone_name(value)

    def resolve(self, relative: str) -> Path:
        """Relative to the tenant file's folder; the seed's examples are relative to the working
        directory, so that is tried second."""
        path = Path(relative)
        if path.is_absolute():
            return path
        beside = Path(self.base_dir) / path
        return beside if beside.exists() or not path.exists() else path

    def display_name(self) -> str:
        return self.name or self.tenant_id


def load_tenant_config(path: str | Path) -> TenantConfig:
    """Read and validate a tenant YAML; errors name the file and the key."""
    path = Path(path)
    source = str(path)
    try:
        raw = safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(source, "-", f"cannot read file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "-"
        raise ConfigError(source, where, f"malformed YAML: {exc}") from None
    return tenant_config_from_mapping(raw, source=source, base_dir=path.parent)


def tenant_config_from_mapping(
    raw: Any, *, source: str = "<tenant>", base_dir: str | Path = "."
) -> TenantConfig:
    if not isinstance(raw, dict):
        raise ConfigError(source, "-", "a tenant file must be a mapping")
    try:
        config = TenantConfig.model_validate({**raw, "base_dir": str(base_dir), "source": source})
    except ValidationError as exc:
        raise ConfigError.of(source, config_problems(exc, model=TenantConfig)) from None
    if config.flow_path is None and config.flow is None and config.flow_yaml is None:
        raise ConfigError(source, "flow_path", "give 'flow_path' (or an inline 'flow')")
    problems = more_channel_problems(config.channel.type, [b.type for b in config.more_channels])
    if problems:
        raise ConfigError.of(source, problems)
    return config
