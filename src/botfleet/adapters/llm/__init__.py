"""LLM adapters: Anthropic, any OpenAI-compatible endpoint, and a scriptable mock.

`build_llm_connector(options)` picks the adapter by `options.provider` from `LLM_FACTORIES`.
The pieces around them: `prompt` (layout and structured answers), `guard` (question and answer
checks), `quota` (monthly token counters), `knowledge` (size warning, dev file watcher).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from botfleet.adapters.llm.anthropic import AnthropicLLM
from botfleet.adapters.llm.mock import MockLLM, build_mock
from botfleet.adapters.llm.openai_compatible import OpenAICompatibleLLM
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

#: provider name (tenant config `llm.provider` / `connectors.llm.type`) -> adapter factory.
LLM_FACTORIES: Mapping[str, LLMFactory] = {
    "anthropic": AnthropicLLM,
    "openai_compatible": OpenAICompatibleLLM,
    "mock_llm": build_mock,
}


def build_llm_connector(options: LLMOptions) -> LLMConnector:
    """The adapter for `options.provider` (already validated by `llm_options`)."""
    return LLM_FACTORIES[options.provider](options)
