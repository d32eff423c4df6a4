"""The request metrics name the schema and the docs page by their paths, apart from the 404s
of unknown paths (`<unmatched>`), and made-up paths still add no series.

Reading `/openapi.json` (every client generator, the docs page itself) used to be counted
with the 404s, so a dashboard of unmatched requests showed each read of the schema as one.
"""

from __future__ import annotations

import re

from cp_harness import ControlPlane, Database, make_settings, running_control_plane


def _requests(metrics: str) -> dict[tuple[str, str, str], float]:
    """`botfleet_cp_http_requests_total` by (method, route, status)."""
    found = re.findall(
        r'^botfleet_cp_http_requests_total\{method="([^"]*)",route="([^"]*)",status="(\d+)"\} '
        r"(\S+)$",
        metrics,
        re.MULTILINE,
    )
    return {(method, route, status): float(n) for method, route, status, n in found}


def _series(metrics: str) -> set[str]:
    return {line.split(" ")[0] for line in metrics.splitlines() if line.startswith("botfleet_cp_")}


async def test_the_schema_and_the_docs_have_their_own_routes(cp: ControlPlane) -> None:
    for path, status in (("/openapi.json", 200), ("/openapi.json", 200), ("/docs", 200)):
        assert (await cp.client.get(path)).status_code == status
    assert (await cp.client.post("/openapi.json")).status_code == 405
    assert (await cp.client.get("/nowhere")).status_code == 404

    counted = _requests((await cp.client.get("/metrics")).text)

    assert counted[("GET", "/openapi.json", "200")] == 2
    assert counted[("POST", "/openapi.json", "405")] == 1
    assert counted[("GET", "/docs", "200")] == 1
    assert counted[("GET", "<unmatched>", "404")] == 1
    assert {route for _, route, _ in counted} == {"/openapi.json", "/docs", "<unmatched>"}


async def test_made_up_paths_near_them_add_no_series(cp: ControlPlane) -> None:
    await cp.client.get("/openapi.json")
    await cp.client.get("/nowhere")
    await cp.client.get("/metrics")  # its own series exist from here on
    before = _series((await cp.client.get("/metrics")).text)
    for n in range(20):
        for path in (f"/openapi.json/{n}", f"/docs/{n}", f"/nowhere{n}", f"/v1/x{n}"):
            assert (await cp.client.get(path)).status_code == 404, path
    metrics = (await cp.client.get("/metrics")).text
    assert _series(metrics) == before
    assert _requests(metrics)[("GET", "<unmatched>", "404")] == 81


async def test_without_the_docs_page_its_path_is_a_404_like_any_other(
    database: Database,
) -> None:
    async with running_control_plane(make_settings(database, api_docs=False)) as cp:
        assert (await cp.client.get("/docs")).status_code == 404
        counted = _requests((await cp.client.get("/metrics")).text)
    assert counted == {("GET", "<unmatched>", "404"): 1}
