"""A tenant key uploading a flow whose templates nest deeply or chain many filters: a 422 naming
the line, answered quickly, and the control plane keeps serving.

The upload validates the flow in the event loop, holding the tenant's lock (on SQLite, the
database's write lock): a deeply nested template failed it with a 500, and compiling long
chains of filters took seconds each, during which no other tenant's request was answered.
"""

from __future__ import annotations

import time

from cp_harness import ControlPlane

from botfleet.flows.render import TOO_DEEP

DEEP = "(" * 3000 + "1" + ")" * 3000
#: Just under Python's 200 nested brackets: valid, and it took over a second to compile each.
CHAIN = "data.x" + " | sort" * 190


def _flow(*texts: str) -> str:
    actions = "".join(f'      - action: send_text\n        text: "{text}"\n' for text in texts)
    return f"id: f\ninitial_state: A\nstates:\n  A:\n    on_enter:\n{actions}    fallback: A\n"


async def _upload(cp: ControlPlane, key: str, flow: str) -> tuple[int, dict[str, object], float]:
    started = time.perf_counter()
    response = await cp.client.post(
        "/v1/tenants/acme/flows",
        content=flow,
        headers={**cp.auth(key), "Content-Type": "application/yaml"},
    )
    return response.status_code, response.json(), time.perf_counter() - started


async def test_a_deeply_nested_template_is_a_422_naming_its_line(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    key = await cp.tenant_key("acme")
    status, body, _ = await _upload(cp, key, _flow("hola", f"{{{{ {DEEP} }}}}"))
    assert status == 422, body
    [error] = body["errors"]  # type: ignore[misc]
    assert (error["line"], error["path"]) == (9, "states.A.on_enter[1].text")
    assert TOO_DEEP in error["message"]
    status, body, _ = await _upload(cp, key, _flow("hola", f"{{% if {DEEP} %}}x{{% endif %}}"))
    assert status == 422, body
    listed = await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)
    assert listed.json()["versions"] == []


async def test_long_chains_of_filters_upload_quickly(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    key = await cp.tenant_key("acme")
    flow = _flow(*[f"{{{{ {CHAIN} }}}} {i}" for i in range(20)])
    status, body, elapsed = await _upload(cp, key, flow)
    assert status == 201, body
    assert elapsed < 5  # 53 s before
    assert (await cp.upload_flow("acme", "2")).status_code == 201
