"""`openai_compatible`: Chat Completions through the official `openai` SDK and a `base_url`.

Works with OpenAI and with servers that speak the same API (Ollama, vLLM, llama.cpp server...).
The model replies with a JSON object `{in_scope, answer}` (`response_format: json_object` unless
`json_mode: false` for servers without it); anything that does not parse is out of scope.
OpenAI caches long prompt prefixes by itself: rules and knowledge come first and never change
between questions, so they are the cached part.
"""

from __future__ import annotations

from typing import Any

import openai

from botfleet.adapters.llm.options import LLMOptions
from botfleet.adapters.llm.prompt import build_prompt, parse_json_answer
from botfleet.adapters.llm.replies import malformed, token_count
from botfleet.adapters.llm.sdk_call import SdkErrors, sdk_call
from botfleet.ports.connectors import Answer, LLMContext, LLMUsage

PROVIDER = "openai_compatible"
SDK_ERRORS = SdkErrors(
    openai.APIStatusError, openai.APITimeoutError, openai.APIConnectionError, openai.OpenAIError
)
#: The SDK refuses to start without a key; with none stored it stands in, and is never sent.
UNUSED_KEY = "not-needed"
#: Per request, as the SDK wants it: an `Authorization` header it is told to leave out.
NO_AUTHORIZATION: dict[str, str | openai.Omit] = {"Authorization": openai.omit}


class OpenAICompatibleLLM:
    """`LLMConnector` on any OpenAI-compatible Chat Completions endpoint."""

    category = "llm"

    def __init__(self, options: LLMOptions, client: openai.AsyncOpenAI | None = None) -> None:
        self.options = options
        self.model = options.model_name
        key = options.key()
        # With no key stored none is sent: the stand-in would reach the server (and any proxy
        # in front of it) as a credential nobody gave.
        self._headers = NO_AUTHORIZATION if not key and client is None else None
        self._client = client or openai.AsyncOpenAI(
            api_key=key or UNUSED_KEY,
            base_url=options.base_url,
            timeout=options.timeout_s,
            max_retries=options.max_retries,
            # The SDK's own client follows redirects, and a 307/308 resends the POST with its
            # key to wherever it points (an internal address, another host): never follow.
            http_client=openai.DefaultAsyncHttpxClient(follow_redirects=False),
        )

    async def answer(self, question: str, knowledge: str, context: LLMContext) -> Answer:
        prompt = build_prompt(
            question,
            knowledge,
            context,
            output="json",
            max_chars=self.options.max_answer_chars,
            history_turns=self.options.history_turns,
        )
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.options.max_tokens,
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
        }
        if self.options.temperature is not None:
            request["temperature"] = self.options.temperature
        if self.options.json_mode:
            request["response_format"] = {"type": "json_object"}
        completion = await sdk_call(
            PROVIDER,
            SDK_ERRORS,
            self._client.chat.completions.create(**request, extra_headers=self._headers),
            self._client.api_key,
        )
        return _to_answer(completion)

    async def aclose(self) -> None:
        await self._client.close()


def usage_of(usage: Any) -> LLMUsage:
    """`prompt_tokens` includes the cached ones; they are split out here."""
    if usage is None:
        return LLMUsage()
    details = getattr(usage, "prompt_tokens_details", None)
    cached = token_count(getattr(details, "cached_tokens", None))
    prompt = token_count(getattr(usage, "prompt_tokens", None))
    return LLMUsage(
        input_tokens=max(prompt - cached, 0),
        output_tokens=token_count(getattr(usage, "completion_tokens", None)),
        cached_tokens=cached,
    )


def _to_answer(completion: Any) -> Answer:
    usage = usage_of(getattr(completion, "usage", None))
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices:
        return malformed("no choices in the reply", usage)
    choice = choices[0]
    stop = getattr(choice, "finish_reason", None)
    content = getattr(getattr(choice, "message", None), "content", None)
    if not isinstance(content, str) or not content.strip():
        return malformed("no message content", usage, stop)
    fields = parse_json_answer(content)
    if fields is None:
        return malformed("not a JSON object {in_scope: bool, answer: string}", usage, stop)
    in_scope, text = fields
    return Answer(text=text if in_scope else "", in_scope=in_scope, usage=usage)
