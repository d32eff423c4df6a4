"""Pure-engine throughput: turns per second of `step()` alone on the demo flow.

    uv run python -m bench.engine_micro [--seconds 5]

A scripted conversation of the demo flow (menu, book a haircut, pick a day by number and a time
by payload, confirm, view, cancel: 10 turns, 6 calendar calls, a scheduled and a cancelled task)
is recorded once against the real in-memory calendar. The timed loop replays it from a fresh
state, feeding the recorded connector replies to `step()` synchronously: no I/O, no event loop.

Baseline, measured in the same run: a JSON round trip of the same turns' HTTP bodies
(`json.loads` of the request, `json.dumps` of the replies), i.e. the least work any web endpoint
does per turn. "engine / baseline" says how many of those round trips one engine turn costs,
which stays comparable across machines. A one-state flow that answers every text with one
`send_text` is measured too: the fixed cost of a step, apart from the demo flow's real work.
Rates are per second of CPU time of this process, so a busy machine does not lower them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench._proc import DEMO_TENANT, machine_check
from bench._report import Check, emit
from botfleet.adapters.registry import build_connectors
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import Output, options_of, output_to_dict
from botfleet.domain.tenant_config import load_tenant_config
from botfleet.flows.effects import CallConnector
from botfleet.flows.engine import StepContext, StepResult, TenantInfo, start_state, step
from botfleet.flows.events import ConnectorReplied, MessageReceived
from botfleet.flows.load import load_flow, load_flow_text
from botfleet.flows.schema import FlowSpec
from botfleet.ports.connectors import Connector
from botfleet.testing.clock import FrozenClock

#: The engine's share of a turn budget: at 40% of a bare FastAPI endpoint (~4,000 req/s on one
#: core here) a whole turn has ~250 us; the pure engine should take at most 100 us of it.
MIN_TURNS_PER_S = 10_000
#: Monday 09:00 in Madrid: the demo calendar has free days and slots ahead.
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CONTACT = "bench-contact"

TRIVIAL_FLOW = """
id: trivial
initial_state: ECHO
states:
  ECHO:
    on_enter:
      - action: send_text
        text: "You said {{ message.text }}"
    transitions:
      - on_type: text
        target: ECHO
"""


@dataclass(frozen=True)
class Turn:
    """One scripted message, the connector replies it needs, and its HTTP bodies."""

    message: InboundMessage
    replies: tuple[Any, ...]
    request_body: bytes
    response_body: list[dict[str, Any]]


def _message(n: int, *, text: str = "", payload: str = "", kind: str = "text") -> InboundMessage:
    return InboundMessage(
        message_id=f"m{n}",
        contact_id=CONTACT,
        type=MessageType(kind),
        timestamp=NOW,
        text=text,
        payload=payload,
    )


def _first_option(outputs: Sequence[Output], prefix: str) -> str:
    for output in reversed(outputs):
        for option in options_of(output):
            if option.id.startswith(prefix):
                return str(option.id)
    raise RuntimeError(f"the demo flow offered no option starting with {prefix!r}")


def _script() -> list[Callable[[int, Sequence[Output]], InboundMessage]]:
    """Each entry builds the next message from the previous turn's outputs."""
    return [
        lambda n, _: _message(n, text="hi"),
        lambda n, _: _message(n, payload="menu_book", kind="button_reply"),
        lambda n, _: _message(n, payload="service_haircut", kind="list_reply"),
        lambda n, _: _message(n, text="2"),  # the second day, as a numbered answer
        lambda n, out: _message(n, payload=_first_option(out, "hour_"), kind="list_reply"),
        lambda n, _: _message(n, text="1"),  # "Yes, book it"
        lambda n, _: _message(n, payload="menu_view", kind="button_reply"),
        lambda n, _: _message(n, payload="menu_cancel", kind="button_reply"),
        lambda n, _: _message(n, text="1"),
        lambda n, _: _message(n, payload="cancel_yes", kind="button_reply"),
    ]


def _call_of(result: StepResult) -> CallConnector | None:
    if result.state.awaiting is None:
        return None
    return next((e for e in result.effects if isinstance(e, CallConnector)), None)


async def record(flow: FlowSpec, ctx: StepContext, connectors: dict[str, Connector]) -> list[Turn]:
    """Play the script once against the real connectors, keeping their replies."""
    state = start_state(flow, ctx.tenant.id, CONTACT, NOW)
    turns: list[Turn] = []
    outputs: list[Output] = []
    for n, build in enumerate(_script()):
        message = build(n, outputs)
        result = step(flow, state, MessageReceived(message), NOW, ctx)
        outputs, replies = list(result.outputs), []
        while (call := _call_of(result)) is not None:
            reply = await connectors[call.connector].call(
                call.operation, call.params, idempotency_key=call.idempotency_key
            )
            replies.append(reply)
            result = step(flow, result.state, ConnectorReplied(call.request_id, reply), NOW, ctx)
            outputs += result.outputs
        state = result.state
        body = {"contact_id": CONTACT, "text": message.text, "payload": message.payload}
        turns.append(
            Turn(
                message,
                tuple(replies),
                json.dumps(body).encode(),
                [output_to_dict(o) for o in outputs],
            )
        )
    if not any("Booked" in json.dumps(t.response_body) for t in turns):
        raise RuntimeError("the scripted conversation did not book: the demo flow changed?")
    return turns


def replay(flow: FlowSpec, ctx: StepContext, turns: Sequence[Turn]) -> int:
    """One conversation from a fresh state; returns how many `step()` calls it took."""
    state = start_state(flow, ctx.tenant.id, CONTACT, NOW)
    steps = 0
    for turn in turns:
        result = step(flow, state, MessageReceived(turn.message), NOW, ctx)
        steps += 1
        for reply in turn.replies:
            call = _call_of(result)
            assert call is not None, "replay diverged from the recording"
            result = step(flow, result.state, ConnectorReplied(call.request_id, reply), NOW, ctx)
            steps += 1
        state = result.state
    return steps


def json_round_trips(turns: Sequence[Turn]) -> int:
    for turn in turns:
        json.loads(turn.request_body)
        json.dumps({"message_id": turn.message.message_id, "replies": turn.response_body})
    return 0


def timed(seconds: float, body: Callable[[], int], per_call: int) -> tuple[float, float]:
    """(units per CPU second, extra counts per CPU second) of calling `body` for `seconds`.

    Rates are per second of this process's CPU time, not wall time: on a shared machine other
    processes take turns on the cores, which would otherwise count against the engine.
    """
    body()  # warm caches (template compilation, zoneinfo)
    gc.collect()
    calls = extra = 0
    deadline = time.perf_counter() + seconds
    cpu_start = time.process_time()
    while time.perf_counter() < deadline:
        extra += body()
        calls += 1
    cpu = time.process_time() - cpu_start
    return calls * per_call / cpu, extra / cpu


def measure(seconds: float) -> list[Check]:
    config = load_tenant_config(DEMO_TENANT)
    assert config.flow_path is not None
    flow = load_flow(config.resolve(config.flow_path)).spec
    tenant = TenantInfo(id="demo", name=config.display_name(), timezone=config.timezone)
    ctx = StepContext(tenant=tenant)
    connectors = build_connectors(config, clock=FrozenClock(NOW))
    turns = asyncio.run(record(flow, ctx, connectors))
    n = len(turns)

    base_rate, _ = timed(seconds, lambda: json_round_trips(turns), n)
    engine_rate, step_rate = timed(seconds, lambda: replay(flow, ctx, turns), n)
    trivial = load_flow_text(TRIVIAL_FLOW, source="<trivial flow>").spec
    echo = [Turn(_message(i, text=f"hello {i}"), (), b"", []) for i in range(n)]
    trivial_rate, _ = timed(seconds, lambda: replay(trivial, ctx, echo), n)

    ratio = base_rate / engine_rate
    print(f"demo flow: {n} turns per conversation, {step_rate / engine_rate * n:.0f} step() calls")
    print(f"engine (demo flow)   {engine_rate:>10,.0f} turns/s  {1e6 / engine_rate:7.1f} us/turn")
    print(f"engine (1-state)     {trivial_rate:>10,.0f} turns/s  {1e6 / trivial_rate:7.1f} us/turn")
    print(f"baseline JSON trip   {base_rate:>10,.0f} turns/s  {1e6 / base_rate:7.1f} us/turn")
    return [
        Check(
            "engine turns/s (demo flow)",
            f"{engine_rate:,.0f}",
            f">= {MIN_TURNS_PER_S:,}",
            engine_rate >= MIN_TURNS_PER_S,
        ),
        Check("engine step() calls/s", f"{step_rate:,.0f}"),
        Check("engine us per turn", f"{1e6 / engine_rate:.0f} us"),
        Check("1-state flow turns/s", f"{trivial_rate:,.0f}"),
        Check("baseline JSON round trips/s", f"{base_rate:,.0f}"),
        Check("engine turn / JSON round trip", f"{ratio:.0f}x"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="timed seconds per measurement")
    args = parser.parse_args(argv)
    machine = machine_check()
    return emit("engine_micro", [*measure(args.seconds), machine])


if __name__ == "__main__":
    sys.exit(main())
