"""LLM options: `llm:` over `connectors.llm`, provider rules, errors naming the key, secrets."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.adapters.llm import LLM_FACTORIES, build_llm_connector, llm_options
from botfleet.adapters.llm.anthropic import AnthropicLLM
from botfleet.adapters.llm.mock import MockLLM
from botfleet.adapters.llm.openai_compatible import OpenAICompatibleLLM
from botfleet.adapters.llm.options import DEFAULT_FALLBACK_TEXT, LLMOptions, missing_key
from botfleet.domain.errors import ConfigError, UnknownAdapterError
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping

FLOW = {"id": "f", "initial_state": "A", "states": {"A": {}}}


def config(**raw: Any) -> TenantConfig:
    return tenant_config_from_mapping({"tenant_id": "t", "flow": FLOW, **raw}, source="t.yaml")


def test_the_spec_keys_and_defaults() -> None:
    options = llm_options(
        config(
            llm={
                "enabled": True,
                "provider": "anthropic",
                "knowledge_version": "v3",
                "quota_monthly_tokens": 500000,
            }
        )
    )
    assert options.enabled
    assert options.provider == "anthropic"
    assert options.knowledge_version == "v3"
    assert options.quota_monthly_tokens == 500000
    assert options.model_name == "claude-haiku-4-5"
    assert (options.temperature, options.max_tokens) == (None, 512)
    assert options.context_window == 200_000


def test_no_llm_section_means_disabled_mock() -> None:
    options = llm_options(config())
    assert (options.enabled, options.provider) == (False, "mock_llm")


def test_the_binding_gives_the_provider_and_settings_and_llm_keys_win() -> None:
    options = llm_options(
        config(
            connectors={"llm": {"type": "openai_compatible", "model": "llama3", "base_url": "x"}},
            llm={"enabled": True, "model": "qwen2.5", "temperature": 0.3, "max_tokens": 200},
        )
    )
    assert options.provider == "openai_compatible"
    assert (options.model_name, options.base_url) == ("qwen2.5", "x")
    assert (options.temperature, options.max_tokens) == (0.3, 200)


def test_the_control_plane_names_are_accepted() -> None:
    options = llm_options(
        config(
            llm={"enabled": True, "provider": "mock_llm", "max_output_tokens": 64},
            connectors={"llm": {"type": "mock_llm", "replies": ["a"], "default_reply": "b"}},
        )
    )
    assert options.max_tokens == 64
    assert (options.replies, options.default_reply) == (("a",), "b")


@pytest.mark.parametrize(
    ("alias", "provider"), [("openai", "openai_compatible"), ("mock", "mock_llm")]
)
def test_provider_aliases(alias: str, provider: str) -> None:
    assert llm_options(config(llm={"provider": alias})).provider == provider


def test_an_unknown_provider_names_the_key() -> None:
    with pytest.raises(UnknownAdapterError, match=r"t\.yaml: llm\.provider: unknown type 'gpt'"):
        llm_options(config(llm={"provider": "gpt"}))
    with pytest.raises(UnknownAdapterError, match=r"connectors\.llm\.type"):
        llm_options(config(connectors={"llm": {"type": "palm"}}))


def test_contradicting_providers_are_an_error() -> None:
    with pytest.raises(ConfigError, match=r"contradicts connectors\.llm\.type 'anthropic'"):
        llm_options(config(llm={"provider": "mock_llm"}, connectors={"llm": {"type": "anthropic"}}))


def test_an_unknown_key_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"t\.yaml: llm\.temprature: temprature: unknown key"):
        llm_options(config(llm={"enabled": True, "temprature": 0.2}))
    with pytest.raises(ConfigError, match=r"connectors\.llm\.modle"):
        llm_options(config(connectors={"llm": {"type": "anthropic", "modle": "x"}}))


def test_a_bad_value_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"llm\.temperature: temperature: Input should be less"):
        llm_options(config(llm={"temperature": 7}))


def test_a_bad_mock_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        llm_options(config(llm={"answers": [{"pattern": "(unclosed"}]}))


def test_the_resilience_policy_is_not_an_adapter_option() -> None:
    options = llm_options(
        config(connectors={"llm": {"type": "anthropic", "resilience": {"max_attempts": 1}}})
    )
    assert options.provider == "anthropic"


def test_the_api_key_never_shows_in_repr_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    options = llm_options(config(connectors={"llm": {"type": "anthropic", "api_key": "sk-SECRET"}}))
    assert "sk-SECRET" not in repr(options)
    assert "sk-SECRET" not in str(options.model_dump())
    assert options.key() == "sk-SECRET"
    with pytest.raises(ConfigError) as caught:
        llm_options(config(llm={"api_key": "sk-SECRET", "temperature": "hot"}))
    assert "sk-SECRET" not in str(caught.value)


def test_the_key_falls_back_to_the_sdk_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-env")
    assert LLMOptions(provider="anthropic").key() == "sk-from-env"
    assert LLMOptions(provider="mock_llm").key() is None


def test_a_missing_key_names_every_place_a_tenant_file_may_give_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    reason = missing_key(llm_options(config(llm={"enabled": True, "provider": "anthropic"})))
    assert reason is not None
    assert "(locally: llm.api_key, connectors.llm.api_key or ANTHROPIC_API_KEY)" in reason
    given = llm_options(config(llm={"provider": "anthropic", "api_key": "sk-from-file"}))
    assert missing_key(given) is None


def test_the_safe_text_prefers_the_tenant_then_the_flow() -> None:
    assert LLMOptions(fallback_text="Call us.").safe_text("Flow text") == "Call us."
    assert LLMOptions().safe_text("Flow text") == "Flow text"
    assert LLMOptions().safe_text("") == DEFAULT_FALLBACK_TEXT


def test_each_provider_builds_its_adapter() -> None:
    assert set(LLM_FACTORIES) == {"anthropic", "openai_compatible", "mock_llm"}
    key = {"api_key": "k", "base_url": "http://127.0.0.1:9"}
    assert isinstance(build_llm_connector(LLMOptions(provider="anthropic", **key)), AnthropicLLM)
    assert isinstance(
        build_llm_connector(LLMOptions(provider="openai_compatible", **key)), OpenAICompatibleLLM
    )
    assert isinstance(build_llm_connector(LLMOptions(provider="mock_llm")), MockLLM)


def test_a_local_openai_compatible_server_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm = build_llm_connector(
        LLMOptions(provider="openai_compatible", base_url="http://127.0.0.1:11434/v1")
    )
    assert isinstance(llm, OpenAICompatibleLLM)
