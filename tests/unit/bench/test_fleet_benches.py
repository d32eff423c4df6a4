"""Pure logic of the WhatsApp webhook and density benchmarks: percentiles, signatures, configs."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from pathlib import Path

import pytest
import yaml
from bench import _fake_graph, whatsapp_webhook
from bench._fleet import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    density_tenant,
    inbound_body,
    percentile,
    signature,
    whatsapp_tenant,
    write_tenant,
)
from bench._load import LoadResult
from bench.density import Step, parse_steps, report
from bench.whatsapp_webhook import Conversations

from botfleet.adapters.channels.whatsapp.settings import whatsapp_settings


def test_percentile_nearest_rank() -> None:
    values = [float(x) for x in range(100, 0, -1)]  # 1..100, unsorted
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_signature_is_meta_hmac_sha256_of_raw_body() -> None:
    body = inbound_body("34600000001", "hi", "wamid.x", timestamp=1)
    expected = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature(body, APP_SECRET) == f"sha256={expected}"
    assert signature(body + b" ", APP_SECRET) != signature(body, APP_SECRET)


def test_inbound_body_is_parsed_by_the_whatsapp_adapter() -> None:
    from datetime import UTC, datetime

    from botfleet.adapters.channels.whatsapp import parse

    body = inbound_body("34600000001", "menu", "wamid.abc", timestamp=1_700_000_000)
    parsed = parse.parse_webhook(
        json.loads(body), phone_number_id=PHONE_NUMBER_ID, received_at=datetime.now(UTC)
    )
    assert len(parsed.messages) == 1
    message = parsed.messages[0]
    assert (message.contact_id, message.text, message.message_id) == (
        "34600000001",
        "menu",
        "wamid.abc",
    )


def test_whatsapp_tenant_validates_and_points_at_the_fake(tmp_path: Path) -> None:
    config = whatsapp_tenant("http://127.0.0.1:9999")
    settings = whatsapp_settings(config["channel"])
    assert settings.graph_base_url == "http://127.0.0.1:9999"
    assert settings.app_secret.get_secret_value() == APP_SECRET
    assert Path(config["flow_path"]).is_absolute() and Path(config["flow_path"]).exists()
    written = write_tenant(config, tmp_path / "x" / "t.yaml")
    assert yaml.safe_load(written.read_text())["channel"]["type"] == "whatsapp"


def test_density_tenants_differ_only_in_identity() -> None:
    a, b = density_tenant(1), density_tenant(2)
    assert a["tenant_id"] != b["tenant_id"]
    assert {k: v for k, v in a.items() if k not in ("tenant_id", "name")} == {
        k: v for k, v in b.items() if k not in ("tenant_id", "name")
    }
    assert a["channel"]["type"] == "webchat"


def test_parse_steps_sorts_caps_and_always_tries_max() -> None:
    assert parse_steps("50,10,25,200", 100) == [10, 25, 50, 100]
    assert parse_steps("10", 10) == [10]
    with pytest.raises(ValueError):
        parse_steps("0,5", 10)


def test_step_fails_on_errors_or_slow_p99() -> None:
    ok = Step(10, 100, 0, 150.0, 20.0, 1.0, 1.0, 1.0)
    assert ok.ok
    assert not Step(10, 100, 1, 150.0, 20.0, 1.0, 1.0, 1.0).ok
    assert not Step(10, 100, 0, 250.0, 20.0, 1.0, 1.0, 1.0).ok


def test_density_verdict_needs_a_ramp_that_reaches_the_target() -> None:
    small = [Step(5, 50, 0, 20.0, 9.0, 1.0, 1.0, 1.0), Step(10, 100, 0, 20.0, 9.0, 1.0, 1.0, 1.0)]
    [capped, *_] = report(small, ceiling=10)  # --quick: no verdict either way
    assert (capped.value, capped.ok) == ("10 (tried up to 10)", None)
    [short, *_] = report(small, ceiling=150)  # a full ramp that stopped early fails
    assert (short.value, short.ok) == ("10", False)
    full = [*small, Step(100, 1000, 0, 30.0, 9.0, 1.0, 1.0, 1.0)]
    assert report(full, ceiling=150)[0].ok is True
    slow = [Step(10, 100, 0, 250.0, 9.0, 1.0, 1.0, 1.0)]
    assert report(slow, ceiling=10)[0].ok is False  # a failed step is a verdict even capped


def test_conversations_spread_contacts_and_sign() -> None:
    convs = Conversations(4, 10, signed=True, tag="t")
    seen = set()
    for w in range(4):
        for _ in range(6):
            req = convs(w)
            assert req is not None
            path, body, headers = req
            assert path == "/webhook"
            assert headers["X-Hub-Signature-256"] == signature(body, APP_SECRET)
            seen.add(json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["from"])
    assert len(seen) == 10
    assert sum(convs.sent.values()) == 24
    assert Conversations(20, 10, signed=False, tag="t")(15) is None


def test_fake_graph_counts_messages_per_recipient() -> None:
    _fake_graph.counts.clear()
    for to in ("a", "b", "a"):
        status, _ = _fake_graph.handle_request(
            "POST", "/v19.0/1/messages", json.dumps({"to": to}).encode()
        )
        assert status == 200
    status, body = _fake_graph.handle_request("GET", "/stats", b"")
    assert json.loads(body) == {"total": 3, "by_to": {"a": 2, "b": 1}}
    assert _fake_graph.handle_request("POST", "/other", b"{}")[0] == 404


def _whatsapp_round(dp_rps: int, p99_ms: float, *, lost: int = 0) -> whatsapp_webhook.Round:
    # 1 s runs: req/s is the number of latencies; the slowest 2% of the data plane's take
    # `p99_ms`, so that is its p99.
    slow = dp_rps // 50
    bare = LoadResult(latencies_ms=[2.0] * 10_000, seconds=1.0)
    dp = LoadResult(latencies_ms=[10.0] * (dp_rps - slow) + [p99_ms] * slow, seconds=1.0)
    return whatsapp_webhook.Round(
        bare=bare,
        data_plane=dp,
        contacts=500,
        inbound=dp_rps,
        replies=dp_rps,
        lost=lost,
        extra=0,
        unexpected=0,
        drain_s=1.0,
        rss_mb=60.0,
        reply_ms=[40.0] * 100,
    )


def test_whatsapp_rounds_are_summarised_by_medians_and_lost_replies_add_up() -> None:
    rounds = [
        _whatsapp_round(4_500, 20.0),
        _whatsapp_round(1_000, 90.0, lost=1),  # one bad round: its rates do not decide
        _whatsapp_round(4_200, 22.0),
    ]
    checks = {c.name: c for c in whatsapp_webhook.summarise(rounds)}
    ratio = checks["throughput vs bare (median of 3 rounds)"]
    assert (ratio.value, ratio.ok) == ("42.0%", True)
    p99 = checks["p99 latency (median of 3 rounds)"]
    assert (p99.value, p99.ok) == ("22.0 ms", True)
    missing = checks["contacts missing replies"]
    assert (missing.value, missing.ok) == ("1 of 1500", False)
    assert checks["turns/s including the drain"].value == "2100"
