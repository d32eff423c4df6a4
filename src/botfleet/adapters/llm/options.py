"""LLM options of a tenant: `llm:` merged over the `connectors.llm` binding, validated once.

The seed puts the provider's binding under `connectors.llm` (`type: anthropic`, credentials) and
the switches under `llm:` (`enabled`, `provider`, `knowledge_version`, `quota_monthly_tokens`,
`quota_daily_tokens`, `quota_daily_questions_per_contact`).
Both are read here; a key under `llm:` wins over the same key in the binding. Unknown keys are
errors naming the file and key, and the API key never appears in a repr or an error.
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)

from botfleet.domain.built_in_texts import ENGLISH_TEXTS
from botfleet.domain.errors import ConfigError, UnknownAdapterError
from botfleet.domain.tenant_config import TenantConfig
from botfleet.domain.texts_by_language import (
    TextByLanguage,
    check_text_by_language,
    text_in_language,
)

Provider = Literal["anthropic", "openai_compatible", "mock_llm"]
PROVIDERS: tuple[str, ...] = ("anthropic", "openai_compatible", "mock_llm")
#: Other names accepted for a provider (the control plane and the seed use some of them).
PROVIDER_ALIASES = {"openai": "openai_compatible", "mock": "mock_llm", "claude": "anthropic"}

DEFAULT_MODELS = {
    "anthropic": "claude-haiku-4-5",
    "openai_compatible": "gpt-4o-mini",
    "mock_llm": "mock",
}
#: Context windows (tokens) used for the "knowledge too large" warning; override per tenant.
DEFAULT_CONTEXT_TOKENS = {
    "anthropic": 200_000,
    "openai_compatible": 128_000,
    "mock_llm": 200_000,
}
#: Environment variables the official SDKs read when no key is configured.
KEY_VARIABLES = {"anthropic": "ANTHROPIC_API_KEY", "openai_compatible": "OPENAI_API_KEY"}
#: The English safe text (the runtime passes the contact's or tenant's language's, built_in_texts).
DEFAULT_FALLBACK_TEXT = ENGLISH_TEXTS.llm_fallback


class MockAnswer(BaseModel):
    """One scripted rule of the `mock_llm` provider: a regex over the question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = Field(min_length=1)
    text: str = ""
    in_scope: bool = True
    error: Literal["timeout", "unavailable", "rejected", "rate_limited"] | None = None
    delay_s: float = Field(default=0.0, ge=0)
    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)
    cached_tokens: int | None = Field(default=None, ge=0)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class LLMOptions(BaseModel):
    """Everything the LLM fallback and its adapters need, after defaults are applied."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    #: Whether `key` falls back to `KEY_VARIABLES` (never a setting: `without_environment_keys`).
    _environment_keys: bool = PrivateAttr(default=True)

    enabled: bool = False
    provider: Provider = "mock_llm"
    knowledge_version: str | None = None
    quota_monthly_tokens: int | None = Field(default=None, ge=0)
    #: Input + output tokens per calendar day in the tenant's zone (None: no daily budget).
    #: Strict: `"5000"` or `5000.0` in a tenant file is more likely a slip than a number.
    quota_daily_tokens: int | None = Field(default=None, ge=0, strict=True)
    #: Questions one contact may have handed to the provider per calendar day (None: no limit).
    quota_daily_questions_per_contact: int | None = Field(default=None, ge=0, strict=True)
    model: str | None = None
    #: None: the provider's default. openai_compatible only: Anthropic's Messages API takes
    #: none, so the anthropic adapter leaves it out (with an `llm_option_ignored` warning).
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int = Field(default=512, gt=0, le=32_000, alias="max_output_tokens")
    #: The safe text: one text, or one per language (`texts_by_language`), the turn's picked.
    fallback_text: TextByLanguage | None = None
    base_url: str | None = None
    api_key: SecretStr | None = Field(default=None, repr=False)
    timeout_s: float = Field(default=15.0, gt=0, le=300)
    #: Retries made by the SDK itself. 0: retrying belongs to the connector resilience layer.
    max_retries: int = Field(default=0, ge=0, le=5)
    max_question_chars: int = Field(default=500, gt=0, le=20_000)
    max_answer_chars: int = Field(default=1000, gt=0)
    history_turns: int = Field(default=6, ge=0, le=20)
    context_tokens: int | None = Field(default=None, gt=0)
    #: openai_compatible: ask for `response_format: json_object` (turn off for servers without it).
    json_mode: bool = True
    #: The connector framework's policy (timeouts, retries, breaker): read by the data plane's
    #: resilience layer (`data_plane.llm_fallback.llm_policy`), never by an adapter.
    resilience: dict[str, Any] | None = None
    # mock_llm only (the control plane's names): scripted rules, replies in turn, a default.
    answers: tuple[MockAnswer, ...] = ()
    replies: tuple[str, ...] = ()
    default_reply: str | None = None
    delay_s: float = Field(default=0.0, ge=0)

    @field_validator("provider", mode="before")
    @classmethod
    def _alias_provider(cls, value: Any) -> Any:
        return PROVIDER_ALIASES.get(value, value) if isinstance(value, str) else value

    @field_validator("fallback_text", mode="before")
    @classmethod
    def _fallback_text(cls, value: Any) -> Any:
        """One error in words for a wrong map, rather than one per shape the union takes."""
        return check_text_by_language(value)

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_MODELS[self.provider]

    @property
    def context_window(self) -> int:
        return self.context_tokens or DEFAULT_CONTEXT_TOKENS[self.provider]

    def safe_text(self, flow_text: str = "", language: str = "", tenant_language: str = "") -> str:
        """The safe fallback: the tenant's text (of a map, the one of `language`, the turn's,
        else of `tenant_language`, else the first listed), else the flow's, else a neutral
        default."""
        own = text_in_language(self.fallback_text, language, tenant_language)
        return own or flow_text or DEFAULT_FALLBACK_TEXT

    def without_environment_keys(self) -> LLMOptions:
        """These options, with no key from the process's `ANTHROPIC_API_KEY` / `OPENAI_API_KEY`.
        For a data plane configured by a control plane: there a tenant key may set the LLM's
        `base_url`, and a platform-wide key in the environment would be sent to whatever host
        the tenant chose. A local tenant file is the operator's own (development), so the
        fallback stays there."""
        copy = self.model_copy()
        copy._environment_keys = False
        return copy

    def key(self) -> str | None:
        """The API key: configured, else the provider's usual environment variable (unless
        `without_environment_keys`: a data plane booted from a control plane)."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        variable = KEY_VARIABLES.get(self.provider)
        if variable is None or not self._environment_keys:
            return None
        return os.environ.get(variable)


def missing_key(options: LLMOptions) -> str | None:
    """Why the provider cannot authenticate, or None. A local server (`base_url` on an
    OpenAI-compatible provider) needs no key."""
    if options.provider == "mock_llm" or options.key() is not None:
        return None
    if options.provider == "openai_compatible" and options.base_url:
        return None
    # `llm.api_key` first: it wins over the binding's, and is where a tenant file keeps the rest.
    local = f"llm.api_key, connectors.llm.api_key or {KEY_VARIABLES[options.provider]}"
    if not options._environment_keys:
        local += ", which a data plane booted from a control plane does not read"
    return (
        f"no API key for {options.provider}: set it in the control plane's 'llm' credentials "
        f"(locally: {local})"
    )


def llm_options(config: TenantConfig) -> LLMOptions:
    """Read a tenant's LLM options. Raises `ConfigError` naming the file and key."""
    binding = config.connectors.get("llm")
    merged: dict[str, Any] = {}
    if binding is not None:
        merged.update(binding.settings())
    explicit = config.llm.model_fields_set | set(config.llm.model_extra or {})
    llm_values = config.llm.model_dump()
    merged.update({k: v for k, v in llm_values.items() if k in explicit})
    provider = _provider(config, binding.type if binding else None)
    merged["provider"] = provider
    merged.setdefault("enabled", config.llm.enabled)
    try:
        return LLMOptions.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        section = "llm" if place in explicit or binding is None else "connectors.llm"
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: "
            f"{'unknown key' if e['type'] == 'extra_forbidden' else _reason(e['msg'])}"
            for e in exc.errors()
        )
        raise ConfigError(config.source, f"{section}.{place}", detail) from None


def _reason(message: str) -> str:
    """A validator's "Value error, <its message>" without pydantic's prefix."""
    return message.removeprefix("Value error, ")


def _provider(config: TenantConfig, binding_type: str | None) -> str:
    chosen = "provider" in config.llm.model_fields_set
    named = PROVIDER_ALIASES.get(config.llm.provider, config.llm.provider)
    bound = PROVIDER_ALIASES.get(binding_type, binding_type) if binding_type else None
    if named not in PROVIDERS:
        raise UnknownAdapterError(config.source, "llm.provider", config.llm.provider, PROVIDERS)
    if bound is not None and bound not in PROVIDERS:
        raise UnknownAdapterError(
            config.source, "connectors.llm.type", str(binding_type), PROVIDERS
        )
    if chosen and bound is not None and bound != named:
        raise ConfigError(
            config.source,
            "llm.provider",
            f"{config.llm.provider!r} contradicts connectors.llm.type {binding_type!r}; "
            "remove one of them",
        )
    if chosen or bound is None:
        return named
    return bound
