"""Smoke tests of the benchmark suite: it imports, reports, and a 1 s engine microbench runs.

The benchmarks themselves (wrk, server processes) never run under `make test`.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import httpx
import pytest
from bench import (
    _profile,
    _report,
    _turn_cpu,
    bare_app,
    calendar_ops,
    calendar_slots,
    engine_micro,
    run_all,
    store_trips,
    webchat_wrk,
)

MODULES = [
    "bench.run_all",
    "bench.boot_memory",
    "bench.webchat_wrk",
    "bench.engine_micro",
    "bench.whatsapp_webhook",
    "bench.density",
    "bench.scheduler_bench",
    "bench.calendar_slots",
    "bench.calendar_ops",
    "bench.store_trips",
    "bench.provider_http",
    "bench.webchat_ab",
    "bench.turn_ab",
    "bench.validate_time",
    "bench.soak",
]


def test_run_all_runs_every_benchmark_module() -> None:
    listed = {name for name, _full, _quick in run_all.BENCHMARKS}
    on_disk = {
        path.stem
        for path in (Path(run_all.__file__).parent).glob("*.py")
        # bare_app is the baseline server the others start, not a benchmark of its own;
        # webchat_ab and turn_ab compare two commits, on demand
        if not path.stem.startswith("_")
        and path.stem not in ("run_all", "bare_app", "webchat_ab", "turn_ab")
    }
    assert on_disk <= listed, f"not run by `make bench`: {sorted(on_disk - listed)}"


@pytest.mark.parametrize("name", MODULES)
def test_every_benchmark_imports_and_has_a_main(name: str) -> None:
    module = importlib.import_module(name)
    assert callable(module.main)


def test_engine_microbench_runs_the_demo_conversation() -> None:
    checks = {c.name: c for c in engine_micro.measure(0.2)}
    rate = float(checks["engine turns/s (demo flow)"].value.replace(",", ""))
    assert rate > 100
    assert checks["engine turns/s (demo flow)"].ok is not None  # it has a target
    assert checks["engine turn / JSON round trip"].value.endswith("x")


def test_calendar_ops_times_every_call_of_the_demo_cycle() -> None:
    figures = calendar_ops.measure(0.02, (0, 20), data_plane_logging=False)
    for run in figures["runs"].values():
        for target in calendar_ops.TARGETS:
            assert set(run[target]) == set(calendar_ops.OPERATIONS)
            assert all(us > 0 for us in run[target].values())
        assert len(run["fingerprint"]) == 16
    assert figures["runs"]["20"]["booked"] == 20
    checks = calendar_ops.report(figures, figures)  # against itself: same replies
    assert all(c.ok is not False for c in checks)


def test_recorded_conversation_books_and_cancels() -> None:
    import asyncio

    from botfleet.adapters.registry import build_connectors
    from botfleet.domain.tenant_config import load_tenant_config
    from botfleet.flows.engine import StepContext, TenantInfo
    from botfleet.flows.load import load_flow
    from botfleet.testing.clock import FrozenClock

    config = load_tenant_config(engine_micro.DEMO_TENANT)
    assert config.flow_path is not None
    flow = load_flow(config.resolve(config.flow_path)).spec
    ctx = StepContext(tenant=TenantInfo(id="demo", timezone=config.timezone))
    connectors = build_connectors(config, clock=FrozenClock(engine_micro.NOW))
    turns = asyncio.run(engine_micro.record(flow, ctx, connectors))
    said = json.dumps([t.response_body for t in turns])
    assert "Booked" in said and "cancelled" in said
    assert sum(len(t.replies) for t in turns) == 6  # days, slots, book, view, list, cancel
    assert engine_micro.replay(flow, ctx, turns) == len(turns) + 6


def test_result_line_round_trips_through_run_all(capsys: pytest.CaptureFixture[str]) -> None:
    checks = [_report.Check("p99", "30 ms", "<= 25 ms", False), _report.Check("rps", "900")]
    assert _report.emit("demo", checks) == _report.EXIT_MISSED
    parsed = _report.parse_result(capsys.readouterr().out)
    assert parsed == ("demo", checks)
    assert _report.emit("demo", checks[1:]) == _report.EXIT_OK


def test_summary_table_lines_up() -> None:
    text = _report.table([_report.Check("a", "1", ">= 2", False), _report.Check("bb", "22")])
    lines = text.splitlines()
    assert lines[0].split() == ["figure", "value", "target", "result"]
    assert lines[2].split() == ["a", "1", ">=", "2", "FAIL"]
    assert lines[3].split() == ["bb", "22", "-", "info"]


def test_profile_samples_go_to_the_innermost_known_component() -> None:
    raw = "\n".join(
        [
            "run (uvicorn/main.py:1);call (botfleet/adapters/connectors/calendar/slots.py:9) 7",
            "run (uvicorn/main.py:1);save (botfleet/adapters/stores/codec.py:3);"
            "dumps (json/__init__.py:2) 2",
            "run (uvicorn/main.py:1);send (uvicorn/protocols/http/httptools_impl.py:5) 1",
            "_bootstrap (threading.py:1);_connection_worker_thread (aiosqlite/core.py:9) 4",
        ]
    )
    counts = _profile.by_component(raw)
    assert counts["calendar connector"] == 7
    assert counts["SQLite store"] == 2
    assert counts["SQLite store (aiosqlite thread)"] == 4
    assert dict(_profile.shares(counts))["calendar connector"] == pytest.approx(7 / 14)


async def test_bare_endpoint_only_parses_and_echoes_the_message_id() -> None:
    transport = httpx.ASGITransport(app=bare_app.create_bare_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
        response = await client.post("/inbound", json={"contact_id": "c", "message_id": "r-1-2"})
    assert response.status_code == 200
    assert response.json() == {"message_id": "r-1-2", "duplicate": False, "replies": []}


def test_wrk_missing_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(webchat_wrk, "find_wrk", lambda: None)
    assert webchat_wrk.main([]) == _report.EXIT_CANNOT_RUN
    assert "apt-get install -y wrk" in capsys.readouterr().err


def test_wrk_script_walks_the_demo_flow() -> None:
    script = webchat_wrk.LUA_SCRIPT.read_text()
    for needle in ("menu_book", "confirm_yes", "cancel_yes", '"hour_', '"day_', "WRK_JSON"):
        assert needle in script


def test_the_control_plane_gets_the_demo_tenant_as_the_yaml_describes_it() -> None:
    from bench._control_plane import demo_tenant_body

    body, flow, knowledge = demo_tenant_body()
    assert body["id"] == "demo"
    assert body["connectors"]["calendar"]["type"] == "mock_calendar"
    assert body["channel"] == {"type": "webchat"}
    assert "initial_state: MENU" in flow
    assert knowledge.strip()


def test_calendar_bench_compares_old_and_new_slot_rules_on_the_same_bookings() -> None:
    checks = {c.name: c.value for c in calendar_slots.measure(0.02)}
    # measure() asserts both versions give the same days and slots before timing them.
    for booked in ("0", "50", "150"):
        assert float(checks[f"speed-up, {booked} bookings"].rstrip("x")) > 0
        assert checks[f"get_slots_for_day call, {booked} bookings"].endswith(" us")


def test_store_bench_runs_both_stores_through_the_same_code() -> None:
    import asyncio

    checks = {c.name: c.value for c in asyncio.run(store_trips.measure(0.02))}
    for label in ("state read", "turn commit"):
        assert checks[f"{label}, sqlite3 on the loop"].endswith(" us CPU")
        assert checks[f"{label}, aiosqlite (before)"].endswith(" us CPU")
        assert float(checks[f"{label}, ratio"].rstrip("x")) > 0


def _wrk_result(rps: float, p99_ms: float, *, errors: int = 0) -> dict[str, float]:
    keys = ("errors_connect", "errors_read", "errors_write", "errors_timeout")
    return {
        "rps": rps,
        "p50_ms": p99_ms / 2,
        "p99_ms": p99_ms,
        "error_texts": 0,
        "errors_status": errors,
        "non2xx": 0,
        "unrouted": 0,
        **dict.fromkeys(keys, 0),
    }


def _round(bare_rps: float, dp_rps: float, p99_ms: float, **kwargs: float) -> webchat_wrk.Round:
    return webchat_wrk.Round(
        bare=webchat_wrk.Run(_wrk_result(bare_rps, 5.0), 1.0),
        data_plane=webchat_wrk.Run(
            _wrk_result(dp_rps, p99_ms, errors=int(kwargs.get("errors", 0))), 1.0
        ),
        boot_s=0.4,
        idle_rss_mb=kwargs.get("idle_rss_mb", 54.0),
        after_rss_mb=70.0,
    )


def test_web_chat_rounds_are_summarised_by_their_medians() -> None:
    # One slow round (a noisy neighbour) neither fails nor passes the targets on its own.
    rounds = [
        _round(10_000, 4_500, 20.0),
        _round(10_000, 1_000, 90.0),
        _round(8_000, 3_600, 22.0),
    ]
    checks = {c.name: c for c in webchat_wrk.summarise(rounds)}
    ratio = checks["throughput vs bare (median of 3 rounds)"]
    assert ratio.value == "45.0%"  # the ratios are 45%, 10%, 45%: each within its round
    assert ratio.ok is True
    p99 = checks["p99 latency (median of 3 rounds)"]
    assert (p99.value, p99.ok) == ("22.0 ms", True)
    assert checks["data plane req/s"].value == "3600"


def test_web_chat_rounds_fail_on_any_error_and_the_worst_memory() -> None:
    rounds = [
        _round(10_000, 4_500, 20.0, idle_rss_mb=61.0),
        _round(10_000, 4_500, 20.0, errors=1),
        _round(10_000, 4_500, 20.0),
    ]
    checks = {c.name: c for c in webchat_wrk.summarise(rounds)}
    assert (checks["errors + non-2xx"].value, checks["errors + non-2xx"].ok) == ("1", False)
    assert (checks["idle RSS"].value, checks["idle RSS"].ok) == ("61.0 MB", False)
    one = {c.name for c in webchat_wrk.summarise(rounds[2:])}
    assert "throughput vs bare" in one  # a single round says nothing about medians


def test_web_chat_bench_refuses_zero_rounds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        webchat_wrk.main(["--rounds", "0"])
    assert "--rounds must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--warmup", "0.5"], ["--duration", "2.5"], ["--duration", "-1"]])
def test_web_chat_bench_refuses_what_wrk_cannot_run(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        webchat_wrk.main(argv)
    assert "wrk runs for whole seconds" in capsys.readouterr().err


def test_web_chat_bench_refuses_a_zero_second_run(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        webchat_wrk.main(["--duration", "0"])
    assert "--duration must be at least 1 second" in capsys.readouterr().err


async def test_turn_cpu_drives_the_demo_conversation_through_the_runtime() -> None:
    us = await _turn_cpu.measure(contacts=2, rounds=1)
    assert 1 < us < 1_000_000
