"""Properties: for any messages, `step` never raises and the contact is always in a declared state.

Played on the demo flow, with connector calls answered by the in-memory calendar, by failures
or by junk. Randomly generated flows are in test_engine_random_flows.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from botfleet.adapters.connectors.calendar import build as build_calendar
from botfleet.adapters.stores.codec import check_json
from botfleet.domain.errors import ConnectorUnavailable
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import Buttons, ListMenu, options_of
from botfleet.flows.effects import CallConnector
from botfleet.flows.events import ConnectorFailed, ConnectorReplied, Event
from botfleet.flows.schema import FlowSpec
from botfleet.flows.state import HISTORY_LIMIT
from botfleet.testing.clock import FrozenClock
from botfleet.testing.engine import (
    Conversation,
    Exchange,
    connector_answer,
    flow_from_file,
    message,
)

DEMO_FLOW = flow_from_file(Path(__file__).parents[3] / "flows/peluqueria_flow.yaml")
SCHEDULE = {d: ["10:00-14:00", "17:00-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")}

DEMO_PAYLOADS = [
    "menu_book", "menu_view", "menu_cancel", "back_to_menu", "confirm_yes", "confirm_no",
    "cancel_yes", "cancel_no", "service_haircut", "service_colour", "service_beard",
    "service_", "service_nails", "day_2024-01-09", "day_garbage", "day_", "hour_2024-01-09_1000",
    "hour_2024-01-09_9999", "hour_x", "cancel_appt_mem1", "cancel_appt_", "cancel_appt_nope",
]  # fmt: skip
BOOKING = {"slot": "2024-01-09_1000", "contact_id": "contact-1", "service_key": "haircut"}
WORDS = ["hola", "menu", "MENU ", "restart", "1", "2", "3", "4", "0", "yes, book it", "haircut"]

#: Text that cannot look like a template: data shown verbatim must not trip the "{{" check.
plain_text = st.text(alphabet=st.characters(blacklist_characters="{}%"), max_size=10)
free_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(WORDS + DEMO_PAYLOADS),
    st.integers(min_value=-5, max_value=10**12).map(str),
    st.text(alphabet="😀👍🏽✂️💇‍♀️ñáéÇ", max_size=8),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=4),  # ², ٢
    st.integers(4300, 5000).map(lambda n: "1" * n),  # past int()'s digit limit
)
payloads = st.one_of(st.sampled_from(DEMO_PAYLOADS), st.text(max_size=30))


@st.composite
def any_message(draw: st.DrawFn) -> InboundMessage:
    return message(
        draw(st.sampled_from(list(MessageType))),
        text=draw(free_text),
        payload=draw(st.one_of(st.just(""), payloads)),
        # Without braces: the greeting prints the name, and a name "{{" is no template leak.
        contact_name=draw(st.one_of(st.just(""), plain_text)),
        language=draw(st.sampled_from(["", "es", "en"])),
    )


def next_message(data: st.DataObject, shown: Exchange | None) -> InboundMessage:
    """Mostly follow the menus (so deep states are reached), sometimes anything at all."""
    options = [o for out in (shown.outputs if shown else ()) for o in options_of(out)]
    weights = ["option"] * 5 + ["number"] * 2 + ["any"] * 2
    choice = data.draw(st.sampled_from(weights if options else ["any"]))
    if choice == "option":
        picked = data.draw(st.sampled_from(options))
        return message(data.draw(st.sampled_from(["button", "list"])), payload=picked.id)
    if choice == "number":
        number = st.integers(1, len(options) + 1).map(str)
        return message("text", text=data.draw(st.one_of(number, free_text)))
    return data.draw(any_message())


def junk_results() -> st.SearchStrategy[Any]:
    leaf = st.one_of(st.none(), st.booleans(), st.integers(), plain_text)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(plain_text, inner, max_size=4)
        ),
        max_leaves=10,
    )


def assert_sane(flow: FlowSpec, exchange: Exchange) -> None:
    for result in exchange.steps:
        assert result.state.node in flow.states
    state = exchange.state
    assert state.awaiting is None  # every call was answered
    check_json(dict(state.data), "data")
    assert len(state.history) <= HISTORY_LIMIT
    for out in exchange.outputs:
        if isinstance(out, Buttons | ListMenu):
            assert options_of(out)
    assert not any("{{" in text or "{%" in text for text in exchange.texts)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_demo_flow_survives_any_conversation(data: st.DataObject) -> None:
    clock = FrozenClock()
    calendar = build_calendar({"schedule": SCHEDULE}, timezone="Europe/Madrid", clock=clock)
    real = connector_answer({"calendar": calendar})
    # An appointment to view and cancel, so those paths get explored too.
    real(CallConnector("seed", "calendar", "book_appointment", BOOKING, "seed"))

    def answer(call: CallConnector) -> Event:
        outcome = data.draw(st.sampled_from(["calendar"] * 6 + ["failed", "junk"]))
        if outcome == "failed":
            error = ConnectorUnavailable("down")
            return ConnectorFailed(call.request_id, error.kind, str(error))
        if outcome == "junk":
            return ConnectorReplied(call.request_id, data.draw(junk_results()))
        return real(call)

    chat = Conversation(
        DEMO_FLOW, clock=clock, answer=answer, llm_available=data.draw(st.booleans())
    )
    shown: Exchange | None = None
    for _ in range(data.draw(st.integers(1, 20))):
        clock.advance(minutes=data.draw(st.sampled_from([0, 1, 30, 60 * 5, 60 * 24])))
        if data.draw(st.integers(0, 9)) == 0:
            carried = data.draw(st.dictionaries(plain_text, plain_text, max_size=3))
            shown = chat.fire_task(data.draw(st.sampled_from(["reminder", "nope"])), carried)
        else:
            shown = chat.send(next_message(data, shown))
        assert_sane(DEMO_FLOW, shown)
        for node in shown.entered:
            event(f"entered {node}")
