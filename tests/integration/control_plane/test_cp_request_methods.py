"""Requests with made-up HTTP methods, sent without credentials, cannot grow the control
plane's metrics: every method outside the standard ones is counted and logged as "other".

Any token is a valid method to the HTTP server, and each new one used to be a new label of
the request metrics: one series more for every request, kept for the life of the process and
repeated in every `/metrics` answer.
"""

from __future__ import annotations

import re

from cp_harness import ControlPlane

from botfleet.control_plane.api.observe import KNOWN_METHODS


def _series(metrics: str) -> set[str]:
    return {line.split(" ")[0] for line in metrics.splitlines() if line.startswith("botfleet_cp_")}


async def _flood(cp: ControlPlane, numbers: range) -> None:
    for n in numbers:
        response = await cp.client.request(f"PROBE{n}", "/v1/tenants")
        assert response.status_code in (401, 405)
        await cp.client.request(f"PROBE{n}", "/nowhere")


async def test_made_up_methods_add_no_series(cp: ControlPlane) -> None:
    await _flood(cp, range(2))
    await cp.client.get("/metrics")  # its own series exist from here on
    before = _series((await cp.client.get("/metrics")).text)
    await _flood(cp, range(2, 60))
    metrics = (await cp.client.get("/metrics")).text
    assert _series(metrics) == before
    assert "PROBE" not in metrics
    assert re.search(r'botfleet_cp_http_requests_total\{method="other",route="[^"]*"', metrics)


async def test_standard_methods_keep_their_names(cp: ControlPlane) -> None:
    await cp.client.get("/v1/tenants", headers=cp.admin)
    await cp.client.options("/v1/tenants")
    metrics = (await cp.client.get("/metrics")).text
    for method in ("GET", "OPTIONS"):
        assert method in KNOWN_METHODS
        assert f'method="{method}",route="/v1/tenants"' in metrics
