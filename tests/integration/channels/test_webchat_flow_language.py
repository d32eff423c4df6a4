"""A web chat answer names the language the flow talks to the contact in (`settings.language`),
so the chat page's own words can follow it; `null` while the flow has chosen none and for a
retry. Through the real data plane, with its `POST /inbound` fast path and without, and as
`GET /openapi.json` documents the answer."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import jsonschema_rs
import pytest

from botfleet.adapters import registry
from botfleet.testing.runtime import ChatClient, make_tenant_config, running_app

FLOW: dict[str, Any] = {
    "id": "webchat_languages_v1",
    "initial_state": "START",
    "settings": {"language": "{{ data.lang }}"},
    "global_transitions": [
        {"on_payload": f"lang_{lang}", "set_data": {"lang": lang}, "target": "START"}
        for lang in ("ca", "en", "pt-PT", "nl")
    ],
    "states": {
        "START": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "Idioma?",
                    "buttons": [
                        {"id": "lang_ca", "title": "Català"},
                        {"id": "lang_en", "title": "English"},
                    ],
                }
            ],
            "fallback": "START",
        }
    },
}


@pytest.fixture(params=["route", "fast-path"])
async def chat(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ChatClient]:
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "webchat")
    config = make_tenant_config(FLOW, language="es", channel={"type": "webchat"})
    async with running_app(config) as running:
        yield running


def closed(node: Any) -> Any:
    """`node` with every object schema that names its properties refusing any other."""
    if isinstance(node, dict):
        out = {key: closed(value) for key, value in node.items()}
        if "properties" in node:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [closed(item) for item in node]
    return node


async def answer_validator(chat: ChatClient) -> Any:
    spec = (await chat.http.get("/openapi.json")).json()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/components/schemas/InboundReply",
        "components": closed(copy.deepcopy(spec["components"])),
    }
    return jsonschema_rs.validator_for(schema)


async def test_the_answer_names_the_language_the_flow_chose(chat: ChatClient) -> None:
    documented = await answer_validator(chat)
    answers: list[dict[str, Any]] = []

    async def post(**body: Any) -> str | None:
        answers.append(await chat.post({"contact_id": "web-1", **body}))
        documented.validate(answers[-1])
        language: str | None = answers[-1]["language"]
        return language

    assert await post(text="hola") is None  # nothing chosen yet: the tenant's words stay
    press = {"type": "button_reply", "title": "Català"}
    assert await post(payload="lang_ca", message_id="m-ca", **press) == "ca"
    assert await post(text="bon dia") == "ca"
    assert await post(type="button_reply", payload="lang_pt-PT", title="PT") == "pt-PT"
    assert await post(type="button_reply", payload="lang_en", title="English") == "en"
    # a language the page has no words for is no choice
    assert await post(type="button_reply", payload="lang_nl", title="NL") is None
    # a retry gets the first answer's replies, and no language (the journal keeps none)
    assert await post(payload="lang_ca", message_id="m-ca", **press) is None
    assert answers[-1]["duplicate"] is True and answers[-1]["replies"] == answers[1]["replies"]

    stored = await chat.http.post("/inbound?wait=false", json={"contact_id": "web-2", "text": "x"})
    assert stored.status_code == 202
    assert "language" not in stored.json()  # the 202 is as it was
    documented.validate(stored.json())


async def test_the_document_describes_the_field(chat: ChatClient) -> None:
    documented = await answer_validator(chat)
    answer = {"message_id": "m", "duplicate": False, "replies": [], "seqs": []}
    assert documented.is_valid({**answer, "language": "pt-PT"})
    assert documented.is_valid({**answer, "language": None})
    assert not documented.is_valid({**answer, "language": 3})
