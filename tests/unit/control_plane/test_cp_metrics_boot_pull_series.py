"""Every boot pull result is a series of `/metrics` from the start, at 0.

An operator alerts on `increase(botfleet_cp_boot_pulls_total{result="refused"}[15m]) > 0` (a
data plane polling with a rotated boot token, a disabled or deleted tenant). A series that
appeared only at its first count started at 1, where `increase()` sees no rise: the first
refused pull after each start of the control plane raised no alert.
"""

from __future__ import annotations

from botfleet.control_plane.metrics import BOOT_PULL_RESULTS, ControlPlaneMetrics


def test_each_result_is_a_series_before_any_pull() -> None:
    text = ControlPlaneMetrics().render().decode()

    for result in ("served", "not_modified", "refused"):
        assert f'botfleet_cp_boot_pulls_total{{result="{result}"}} 0.0' in text
    assert set(BOOT_PULL_RESULTS) == {"served", "not_modified", "refused"}


def test_a_count_adds_to_its_series() -> None:
    metrics = ControlPlaneMetrics()
    metrics.boot_pulls.labels("refused").inc()

    text = metrics.render().decode()

    assert 'botfleet_cp_boot_pulls_total{result="refused"} 1.0' in text
    assert 'botfleet_cp_boot_pulls_total{result="served"} 0.0' in text
