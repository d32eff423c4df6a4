"""Property: on small random flows (unknown targets, broken templates, loops and all), `step`
never raises and the contact is always in a declared state, whatever the events."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from botfleet.domain.messages import MessageType
from botfleet.flows.effects import CallConnector
from botfleet.flows.events import ConnectorFailed, ConnectorReplied, Event
from botfleet.flows.schema import MESSAGE_TYPES, FlowSpec
from botfleet.testing.engine import Conversation, message

STATES = ["S0", "S1", "S2", "S3"]
TARGETS = st.sampled_from([*STATES, "NOWHERE"])  # an unknown target now and then
PAYLOADS = ["a", "b", "go_1", "go_", "x"]
TEMPLATES = [
    "hi",
    "{{ data.k }}",
    "{{ data.k ",  # broken
    "{{ message.text }}",
    "{{ contact.name }} {{ tenant.name }} {{ today }}",
    "{{ data.missing.deeper }}",
    "{{ range(5000) | list }}",
    "{{ 1 / 0 }}",
    "{{ now | shift_time(hours=1) }}",
    "{{ data.r }}",
]
CONDITIONS = [
    "true",
    "false",
    "data.k",
    "not data.k",
    "message.type == 'text'",
    "data.k >",
    "data.r.success",
    "1 / 0",
]

templates = st.sampled_from(TEMPLATES)
conditions = st.sampled_from(CONDITIONS)
options = st.lists(
    st.fixed_dictionaries({"id": st.sampled_from(PAYLOADS), "title": templates}),
    min_size=1,
    max_size=4,
)


def actions(tasks: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    on_error = st.one_of(
        st.none(),
        TARGETS,
        st.fixed_dictionaries({}, optional={"text": templates, "target": TARGETS}),
    )
    return st.one_of(
        st.fixed_dictionaries({"action": st.just("send_text"), "text": templates}),
        st.fixed_dictionaries(
            {"action": st.just("send_interactive_buttons"), "body": templates, "buttons": options}
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("send_interactive_list"),
                "body": templates,
                "sections": st.lists(
                    st.fixed_dictionaries({"title": templates, "rows": options}), min_size=1
                ),
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("send_dynamic_options"),
                "source_key": st.sampled_from(["r", "k", "none"]),
                "text": templates,
                "empty_text": templates,
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("invoke_connector"),
                "connector": st.just("calendar"),
                "operation": st.sampled_from(["get", "put"]),
                "params": st.dictionaries(st.sampled_from(["p", "q"]), templates),
                "result_key": st.sampled_from(["r", "k"]),
                "on_error": on_error,
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("schedule_task"),
                "task": st.sampled_from([*tasks, "ghost"]),
                "delay": st.sampled_from(["1h", "soon", "{{ data.k }}", "999999999d"]),
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("schedule_task"),
                "task": st.sampled_from([*tasks, "ghost"]),
                "run_at": st.sampled_from(["2024-01-09T10:00", "{{ now }}", "never", "{{ x"]),
            }
        ),
        st.fixed_dictionaries({"action": st.just("cancel_task"), "idempotency_key": templates}),
        st.fixed_dictionaries(
            {
                "action": st.just("set_data"),
                "values": st.dictionaries(
                    st.sampled_from(["k", "r"]), st.one_of(templates, st.integers())
                ),
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("send_template"),
                "name": st.just("t"),
                "params": st.lists(templates, max_size=2),
            }
        ),
    )


transition = st.fixed_dictionaries(
    {"target": TARGETS},
    optional={
        "on_payload": st.sampled_from(PAYLOADS),
        "on_payload_prefix": st.just("go_"),
        "extract_suffix_as": st.sampled_from(["k", "svc"]),
        "on_type": st.sampled_from(MESSAGE_TYPES),
        "condition": conditions,
        "set_data": st.dictionaries(st.sampled_from(["k", "r"]), templates, max_size=2),
    },
)
next_rule = st.one_of(
    st.none(),
    TARGETS,
    st.sampled_from(STATES),  # plain `next` twice as likely: loops get built
    st.lists(
        st.fixed_dictionaries({"target": TARGETS}, optional={"condition": conditions}),
        min_size=1,
        max_size=3,
    ),
)


@st.composite
def random_flows(draw: st.DrawFn) -> FlowSpec:
    tasks = ["t1", "t2"]
    names = STATES[: draw(st.integers(1, len(STATES)))]
    states = {
        name: draw(
            st.fixed_dictionaries(
                {
                    "on_enter": st.lists(actions(tasks), max_size=4),
                    "transitions": st.lists(transition, max_size=4),
                },
                optional={"fallback": TARGETS, "llm_fallback": st.booleans(), "next": next_rule},
            )
        )
        for name in names
    }
    return FlowSpec.model_validate(
        {
            "id": "random",
            "initial_state": names[0],
            "states": states,
            "global_transitions": draw(st.lists(transition, max_size=2)),
            "services": {"1": {"name": "One", "price": 1}},
            "tasks": {task: draw(st.lists(actions(tasks), max_size=3)) for task in tasks},
            "settings": draw(st.fixed_dictionaries({}, optional={"error_text": templates})),
        }
    )


REPLIES = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=5),
    st.just([{"id": "go_1", "title": "One"}, {"title": "no id"}]),
    st.just({"success": True}),
)
TEXTS = st.one_of(st.sampled_from(["1", "2", "a", "go_1", "{{ data.k }}"]), st.text(max_size=8))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow=random_flows(), data=st.data())
def test_random_flows_never_raise_and_stay_in_declared_states(
    flow: FlowSpec, data: st.DataObject
) -> None:
    def answer(call: CallConnector) -> Event:
        if data.draw(st.booleans()):
            return ConnectorFailed(call.request_id, "unavailable", "down")
        return ConnectorReplied(call.request_id, data.draw(REPLIES))

    chat = Conversation(flow, answer=answer, llm_available=data.draw(st.booleans()))
    for _ in range(data.draw(st.integers(1, 6))):
        if data.draw(st.integers(0, 4)) == 0:
            exchange = chat.fire_task(data.draw(st.sampled_from(["t1", "t2", "ghost"])))
        else:
            exchange = chat.send(
                message(
                    data.draw(st.sampled_from(list(MessageType))),
                    text=data.draw(TEXTS),
                    payload=data.draw(st.sampled_from(["", *PAYLOADS])),
                )
            )
        for result in exchange.steps:
            assert result.state.node in flow.states
        assert exchange.state.awaiting is None
        for kind in set(exchange.diagnostic_events()):
            event(kind)
