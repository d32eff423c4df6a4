"""The soak benchmark's pure parts: its copy of the demo tenant, and how it judges trends.

The soak itself (a data plane under load for minutes) never runs under `make test`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from bench import soak

from botfleet.flows.load import load_flow


def test_the_soak_tenant_is_the_demo_with_reminders_due_soon(tmp_path: Path) -> None:
    tenant = yaml.safe_load(soak.write_tenant(tmp_path, "90s").read_text())
    flow = load_flow(tenant["flow_path"]).spec
    assert flow.settings.conversation_retention == "1d"
    text = Path(tenant["flow_path"]).read_text()
    assert text.count("delay: 90s") == 2
    assert Path(tenant["knowledge_path"]).is_file()


def _rows(values: list[float]) -> list[dict[str, Any]]:
    return [
        {"t_s": 30.0 * i, "phase": "load", "rss_mb": v, "fds": 20} for i, v in enumerate(values)
    ]


def test_a_figure_that_keeps_growing_is_told_from_one_that_levels_off() -> None:
    growing = {t.name: t for t in soak.trends(_rows([60 + i for i in range(40)]))}
    assert not growing["rss_mb"].flat and not growing["rss_mb"].levels_off
    assert growing["fds"].flat

    # warm-up growth, then flat
    levelling = _rows([60 + min(i, 15) for i in range(40)])
    assert soak.trends(levelling)[0].levels_off


def test_metrics_text_is_read_for_the_kept_series() -> None:
    text = (
        "# HELP botfleet_messages_in_total Inbound messages\n"
        'botfleet_messages_in_total{channel="webchat"} 12.0\n'
        'botfleet_messages_in_total{channel="telegram"} 3.0\n'
        'botfleet_messages_in_created{channel="webchat"} 1.7e9\n'
        "botfleet_turn_errors_total 1.0\n"
        'botfleet_connector_calls_total{connector="calendar"} 3.0\n'
    )
    values, series = soak.metric_values(text)
    assert values == {"botfleet_messages_in_total": 15.0, "botfleet_turn_errors_total": 1.0}
    assert series == 5
