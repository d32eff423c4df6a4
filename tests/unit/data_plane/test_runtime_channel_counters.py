"""The per-channel message counters: a contact's channel is found by its id's prefix, each
kind's labelled series is resolved once (a turn calls no `.labels()`), and a label is only ever
a kind."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.data_plane.runtime.metrics import RuntimeMetrics
from botfleet.testing.runtime import bootstrap_test_runtime, text_message

MORE = (("telegram:", "telegram"), ("webchat:", "webchat"))


def value(metrics: RuntimeMetrics, name: str, channel: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"channel": channel})


def forbid_labels(monkeypatch: pytest.MonkeyPatch, metrics: RuntimeMetrics) -> None:
    def labels(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(".labels() after the start: resolve each kind's series once")

    for counter in (metrics.messages_in, metrics.messages_out, metrics.send_errors):
        monkeypatch.setattr(counter, "labels", labels)


def test_a_contact_counts_under_the_channel_its_id_names(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = RuntimeMetrics()
    metrics.start_channels("whatsapp", MORE)
    forbid_labels(monkeypatch, metrics)
    metrics.of("telegram:555001", "whatsapp", MORE).messages_in.inc()
    metrics.of("webchat:abc", "whatsapp", MORE).messages_out.inc(2)
    metrics.of("34600111222", "whatsapp", MORE).send_errors.inc()
    assert value(metrics, "botfleet_messages_in_total", "telegram") == 1
    assert value(metrics, "botfleet_messages_in_total", "whatsapp") == 0
    assert value(metrics, "botfleet_messages_out_total", "webchat") == 2
    assert value(metrics, "botfleet_send_errors_total", "whatsapp") == 1


def test_only_the_tenants_kinds_have_series() -> None:
    metrics = RuntimeMetrics()
    metrics.start_channels("webchat", ())
    assert value(metrics, "botfleet_messages_in_total", "webchat") == 0
    assert value(metrics, "botfleet_messages_in_total", "telegram") is None
    # A web chat page chose an id that looks like another channel's: it came in on the web
    # chat, and no id becomes a label.
    metrics.of("telegram:555", "webchat", ()).messages_in.inc()
    labels = {
        sample.labels["channel"]
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == "botfleet_messages_in_total"
    }
    assert labels == {"webchat"}
    assert value(metrics, "botfleet_messages_in_total", "webchat") == 1


async def test_a_web_chat_turn_counts_without_resolving_a_label(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with bootstrap_test_runtime() as runtime:
        forbid_labels(monkeypatch, runtime.metrics)
        result = await runtime.handle(text_message("c1", "hi"))
        assert len(result.outputs) == 1
        assert value(runtime.metrics, "botfleet_messages_in_total", "webchat") == 1
        assert value(runtime.metrics, "botfleet_messages_out_total", "webchat") == 1
