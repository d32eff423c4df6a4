"""LLM adapters: Anthropic, any OpenAI-compatible endpoint, and a scriptable mock.

`build_llm_connector(options)` picks the adapter by `options.provider` from `LLM_FACTORIES`.
The pieces around them: `prompt` (layout and structured answers), `guard` (question and answer
checks), `quota` (monthly token counters), `knowledge` (size warning, dev file watcher).

The two SDK-backed adapters are imported only when one of them is built (or named): `anthropic`
and `openai` together cost ~55 MB of RSS and ~1 s of boot CPU, and a tenant uses one provider
at most (the demo uses `mock_llm`, neither).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botfleet.adapters.llm.mock import MockLLM, build_mock
from botfleet.adapters.llm.options import LLMOptions, llm_options
from botfleet.adapters.llm.quota import (
    InMemoryUsageStore,
    MonthlyUsage,
    QuotaGuard,
    SqliteUsageStore,
    UsageStore,
    month_of,
)
from botfleet.ports.connectors import LLMConnector

if TYPE_CHECKING:
    from botfleet.adapters.llm.anthropic import AnthropicLLM
    from botfleet.adapters.llm.openai_compatible import OpenAICompatibleLLM

__all__ = [
    "LLM_FACTORIES",
    "AnthropicLLM",
    "InMemoryUsageStore",
    "LLMOptions",
    "MockLLM",
    "MonthlyUsage",
    "OpenAICompatibleLLM",
    "QuotaGuard",
    "SqliteUsageStore",
    "UsageStore",
    "build_llm_connector",
    "llm_options",
    "month_of",
]

LLMFactory = Callable[[LLMOptions], LLMConnector]


def _build_anthropic(options: LLMOptions) -> LLMConnector:
    from botfleet.adapters.llm.anthropic import AnthropicLLM

    return AnthropicLLM(options)


def _build_openai_compatible(options: LLMOptions) -> LLMConnector:
    from botfleet.adapters.llm.openai_compatible import OpenAICompatibleLLM

    return OpenAICompatibleLLM(options)


#: provider name (tenant config `llm.provider` / `connectors.llm.type`) -> adapter factory.
LLM_FACTORIES: Mapping[str, LLMFactory] = {
    "anthropic": _build_anthropic,
    "openai_compatible": _build_openai_compatible,
    "mock_llm": build_mock,
}


def build_llm_connector(options: LLMOptions) -> LLMConnector:
    """The adapter for `options.provider` (already validated by `llm_options`)."""
    return LLM_FACTORIES[options.provider](options)


def __getattr__(name: str) -> Any:
    # Keeps `from botfleet.adapters.llm import AnthropicLLM` working without an eager SDK import.
    if name == "AnthropicLLM":
        from botfleet.adapters.llm.anthropic import AnthropicLLM

        return AnthropicLLM
    if name == "OpenAICompatibleLLM":
        from botfleet.adapters.llm.openai_compatible import OpenAICompatibleLLM

        return OpenAICompatibleLLM
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
