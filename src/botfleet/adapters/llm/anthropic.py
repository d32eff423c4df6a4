"""`anthropic`: the Messages API through the official SDK, answering through a forced tool call.

The rules and the knowledge document are two system blocks; the knowledge block carries
`cache_control: ephemeral`, so the provider caches the whole prefix (tool, rules, knowledge) and
repeated questions pay the cached-read price for it. The answer comes back as the `answer` tool's
input `{in_scope, answer}`; a reply without it counts as out of scope (its tokens still count).
"""

from __future__ import annotations

from typing import Any, cast

import anthropic
import structlog

from botfleet.adapters.llm.options import LLMOptions
from botfleet.adapters.llm.prompt import (
    ANSWER_TOOL,
    ANSWER_TOOL_NAME,
    build_prompt,
    parse_answer_fields,
)
from botfleet.adapters.llm.replies import malformed, token_count
from botfleet.adapters.llm.sdk_call import SdkErrors, sdk_call
from botfleet.ports.connectors import Answer, LLMContext, LLMUsage

PROVIDER = "anthropic"
SDK_ERRORS = SdkErrors(
    anthropic.APIStatusError,
    anthropic.APITimeoutError,
    anthropic.APIConnectionError,
    anthropic.AnthropicError,
)

log = structlog.get_logger("botfleet.llm")


class AnthropicLLM:
    """`LLMConnector` on Anthropic's Messages API (claude-haiku class by default)."""

    category = "llm"

    def __init__(self, options: LLMOptions, client: anthropic.AsyncAnthropic | None = None) -> None:
        self.options = options
        self.model = options.model_name
        self._client = client or anthropic.AsyncAnthropic(
            api_key=options.key(),
            base_url=options.base_url,
            timeout=options.timeout_s,
            max_retries=options.max_retries,
            default_headers=api_key_headers(options.key()),
            # The SDK's own client follows redirects, and a 307/308 resends the POST with its
            # key to wherever it points (an internal address, another host): never follow.
            http_client=anthropic.DefaultAsyncHttpxClient(follow_redirects=False),
        )
        if options.temperature is not None:
            log.warning(
                "llm_option_ignored",
                provider=PROVIDER,
                option="temperature",
                detail="the Messages API takes no temperature; the model's default applies",
            )

    async def answer(self, question: str, knowledge: str, context: LLMContext) -> Answer:
        prompt = build_prompt(
            question,
            knowledge,
            context,
            output="tool",
            max_chars=self.options.max_answer_chars,
            history_turns=self.options.history_turns,
        )
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.options.max_tokens,
            "system": [
                {"type": "text", "text": prompt.rules},
                {"type": "text", "text": prompt.knowledge, "cache_control": {"type": "ephemeral"}},
            ],
            "messages": [{"role": "user", "content": prompt.user}],
            "tools": [ANSWER_TOOL],
            "tool_choice": {"type": "tool", "name": ANSWER_TOOL_NAME},
        }
        message = await sdk_call(
            PROVIDER, SDK_ERRORS, self._client.messages.create(**request), self._client.api_key
        )
        return _to_answer(message)

    async def aclose(self) -> None:
        await self._client.close()


def api_key_headers(key: str | None) -> dict[str, str]:
    """The Messages API's documented authentication, `x-api-key: <key>`.

    This SDK sends an `api_key` as `Authorization: Bearer <key>`, the scheme of OAuth tokens,
    which the API and the gateways in front of it do not take for API keys. The key goes in
    `x-api-key` and the bearer header is left out (the SDK still holds the key, so it is cut
    out of error messages).
    """
    if not key:
        return {}
    # `omit` removes the header the SDK would add; its header type does not spell `Omit`.
    return {"x-api-key": key, "Authorization": cast(str, anthropic.omit)}


def usage_of(usage: Any) -> LLMUsage:
    """Anthropic's `input_tokens` excludes cache reads and writes; writes are billed as input."""
    if usage is None:
        return LLMUsage()
    written = token_count(getattr(usage, "cache_creation_input_tokens", None))
    read = token_count(getattr(usage, "cache_read_input_tokens", None))
    return LLMUsage(
        input_tokens=token_count(getattr(usage, "input_tokens", None)) + written,
        output_tokens=token_count(getattr(usage, "output_tokens", None)),
        cached_tokens=read,
    )


def _to_answer(message: Any) -> Answer:
    usage = usage_of(getattr(message, "usage", None))
    stop = getattr(message, "stop_reason", None)
    content = getattr(message, "content", None)
    called = False
    for block in content if isinstance(content, list) else ():
        if getattr(block, "type", None) != "tool_use":
            continue
        if getattr(block, "name", None) != ANSWER_TOOL_NAME:
            continue
        called = True
        fields = parse_answer_fields(getattr(block, "input", None))
        if fields is not None:
            in_scope, text = fields
            return Answer(text=text if in_scope else "", in_scope=in_scope, usage=usage)
    if called:
        return malformed("the answer tool's input is not {in_scope, answer}", usage, stop)
    return malformed("no call of the answer tool", usage, stop)
