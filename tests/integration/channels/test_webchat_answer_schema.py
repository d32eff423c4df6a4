"""The web chat's answers as `GET /openapi.json` documents them: a client generated from the
document reads every real answer (buttons, a list, split text, a retry, `wait=false`, the
outbox), through the real data plane with its `POST /inbound` fast path and without.

Validated with jsonschema-rs, the JSON Schema validator schemathesis (a dev dependency) brings,
against the served document itself, every object closed to fields it does not name: a field an
answer has and the document lacks fails too.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import jsonschema_rs
import pytest
from channel_harness import DataPlane, FakeProvider, channel_app

from botfleet.adapters import registry

LONG = ("A sentence of the booking terms, long enough to matter. " * 100).strip()
MORE = [{"id": f"more_{n}", "title": f"Option {n}"} for n in range(1, 7)]
FLOW: dict[str, Any] = {
    "id": "webchat_answer_shapes_v1",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "Hi! What would you like to do?",
                    "buttons": [
                        {"id": "book", "title": "Book"},
                        {"id": "more", "title": "More"},
                    ],
                }
            ],
            "transitions": [
                {"on_payload": "book", "target": "SLOTS"},
                {"on_payload": "more", "target": "MORE"},
            ],
            "fallback": "MENU",
        },
        "SLOTS": {
            "on_enter": [
                {
                    "action": "send_interactive_list",
                    "body": "Pick a time",
                    "button_label": "Times",
                    "sections": [
                        {"title": "", "rows": [{"id": "slot_10", "title": "10:00"}]},
                        {
                            "title": "Afternoon",
                            "rows": [
                                {"id": "slot_16", "title": "16:00", "description": "with Ana"}
                            ],
                        },
                    ],
                }
            ],
            "transitions": [{"on_payload": "slot_10", "target": "BOOKED"}],
            "fallback": "SLOTS",
        },
        # Six buttons: more than the web chat shows, so they come as a list ("Options").
        "MORE": {
            "on_enter": [{"action": "send_interactive_buttons", "body": "More", "buttons": MORE}],
            "transitions": [{"on_payload": "more_1", "target": "MENU"}],
            "fallback": "MORE",
        },
        # Over 4096 characters: several text replies.
        "BOOKED": {
            "on_enter": [
                {"action": "send_text", "text": "Booked 10:00"},
                {"action": "send_text", "text": LONG},
            ]
        },
    },
}


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


class Documented:
    """Validators of the document's answer schemas, by component name."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.components = closed(copy.deepcopy(spec["components"]))

    def validator(self, name: str) -> Any:
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": f"#/components/schemas/{name}",
            "components": self.components,
        }
        return jsonschema_rs.validator_for(schema, validate_formats=True)

    def check(self, name: str, answer: Any) -> None:
        found = self.validator(name).iter_errors(answer)
        errors = [f"{e.instance_path}: {e.message}" for e in found]
        assert not errors, (name, answer, errors)

    def answer_ref(self, path: str, method: str) -> str:
        ok = self.spec["paths"][path][method]["responses"]["200"]
        ref: str = ok["content"]["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[1]


@pytest.fixture(params=["route", "fast-path"])
async def dp(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DataPlane]:
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "webchat")
    provider = FakeProvider(lambda request: pytest.fail("the web chat calls no provider"))
    async with channel_app({"type": "webchat"}, provider, flow=FLOW) as running:
        yield running


async def documented(dp: DataPlane) -> Documented:
    response = await dp.client.get("/openapi.json")
    assert response.status_code == 200
    return Documented(response.json())


async def test_every_answer_of_a_conversation_is_as_documented(dp: DataPlane) -> None:
    doc = await documented(dp)
    inbound = doc.answer_ref("/inbound", "post")
    answers: list[dict[str, Any]] = []

    async def post(**body: Any) -> list[dict[str, Any]]:
        response = await dp.client.post("/inbound", json={"contact_id": "web-1", **body})
        assert response.status_code == 200, response.text
        answers.append(response.json())
        doc.check(inbound, answers[-1])
        replies: list[dict[str, Any]] = answers[-1]["replies"]
        return replies

    (menu,) = await post(text="hi", message_id="m-1")
    more = next(b for b in menu["buttons"] if b["id"] == "more")
    (options,) = await post(type="button_reply", payload=more["id"], title=more["title"])
    assert options["type"] == "list"  # six buttons, as a list
    first = options["sections"][0]["rows"][0]
    (menu,) = await post(type="list_reply", payload=first["id"], title=first["title"])
    book = next(b for b in menu["buttons"] if b["id"] == "book")
    (times,) = await post(type="button_reply", payload=book["id"], title=book["title"])
    assert [s["title"] for s in times["sections"]] == ["", "Afternoon"]
    row = times["sections"][0]["rows"][0]
    booked = await post(type="list_reply", payload=row["id"], title=row["title"])
    assert [r["type"] for r in booked] == ["text", "text", "text"]  # the long one split
    # A retry of the first message: the first answer's replies, as documented too.
    again = await post(text="hi", message_id="m-1")
    assert again == answers[0]["replies"] and answers[-1]["duplicate"] is True
    assert answers[-1]["seqs"] == answers[0]["seqs"]  # the journal kept them
    assert {r["type"] for a in answers for r in a["replies"]} == {"text", "buttons", "list"}

    stored = await dp.client.post("/inbound?wait=false", json={"contact_id": "web-2", "text": "x"})
    assert stored.status_code == 202
    doc.check(inbound, stored.json())
    assert "seqs" not in stored.json()  # the 202 is as it was

    page = await dp.client.get("/messages", params={"contact_id": "web-1"})
    assert page.status_code == 200
    doc.check(doc.answer_ref("/messages", "get"), page.json())
    outputs = [m["output"] for m in page.json()["messages"]]
    assert outputs == [r for a in answers if not a["duplicate"] for r in a["replies"]]
    # Each reply's `seq` is the one `GET /messages` shows that very reply under.
    by_seq = {m["seq"]: m["output"] for m in page.json()["messages"]}
    for answer in answers:
        assert len(answer["seqs"]) == len(answer["replies"])
        assert [by_seq[seq] for seq in answer["seqs"]] == answer["replies"]
    assert sorted(by_seq) == [seq for a in answers if not a["duplicate"] for seq in a["seqs"]]


async def test_the_document_refuses_what_a_front_end_never_gets(dp: DataPlane) -> None:
    # Before, a reply was "any object": a client generated from the document knew no field.
    doc = await documented(dp)
    reply = doc.validator("InboundReply")
    text = {"type": "text", "text": "Hi"}
    buttons = {"type": "buttons", "text": "Pick", "buttons": [{"id": "a", "title": "A"}]}
    row = {"id": "r", "title": "R", "description": ""}
    listed = {"type": "list", "text": "", "button_label": "Times"}
    listed["sections"] = [{"title": "", "rows": [row]}]

    def answer(*replies: dict[str, Any]) -> dict[str, Any]:
        return {"message_id": "m", "duplicate": False, "replies": list(replies)}

    assert reply.is_valid(answer(text, buttons, listed))
    assert reply.is_valid({**answer(text, text), "seqs": [3, None]})
    assert reply.is_valid({**answer(text), "seqs": None})  # a retry of an older answer
    assert not reply.is_valid({**answer(text), "seqs": ["3"]})
    refused = [
        {"type": "image", "url": "https://example.com/a.png"},
        {"type": "template", "name": "reminder", "text": "Hi"},
        {"type": "text", "text": ""},
        {"type": "text", "text": "x" * 4097},
        {**buttons, "buttons": []},
        {**buttons, "buttons": [{"id": str(n), "title": "B"} for n in range(6)]},
        {**buttons, "buttons": [{"id": "", "title": "B"}]},
        {**buttons, "buttons": [{"id": "a", "title": "B" * 41}]},
        {**listed, "sections": []},
        {**listed, "sections": [{"title": "", "rows": [{"id": "r", "title": "R"}]}]},
        {**listed, "sections": [{"title": "", "rows": [{**row, "description": "d" * 201}]}]},
    ]
    for bad in refused:
        assert not reply.is_valid(answer(bad)), bad
    page = doc.validator("MessagesPage")
    message = {"seq": 7, "contact_id": "ana", "at": "2026-12-06T02:34:56.68+00:00", "output": text}
    assert page.is_valid({"messages": [message], "last": 7})
    assert not page.is_valid({"messages": [{**message, "at": "yesterday"}], "last": 7})
    assert not page.is_valid({"messages": [{**message, "output": {"type": "x"}}], "last": 7})
