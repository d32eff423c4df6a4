"""Publishing a flow version (upload with ?publish=true, publish, rollback) answers, in
``changes``, what replacing the live version does to conversations under way, and records it
in the audit entry; the publish itself is never refused for them."""

from __future__ import annotations

from typing import Any

from cp_harness import ControlPlane

from botfleet.control_plane.services.flows import flow_changes

LIVE = """\
id: salon
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Menu"
        buttons: [{id: book, title: Book}]
    transitions:
      - {on_payload: book, target: ASK_DAY}
    fallback: MENU
  ASK_DAY:
    on_enter:
      - {action: send_text, text: "Which day?"}
      - {action: schedule_task, task: reminder, delay: 24h}
    transitions:
      - {on_type: text, target: MENU}
tasks:
  reminder:
    - {action: send_text, text: "Still there?"}
"""
#: Renames the day question and the reminder task.
RENAMED = (
    LIVE.replace("ASK_DAY", "ASK_DATE")
    .replace("task: reminder", "task: nudge")
    .replace("  reminder:", "  nudge:")
)

STATE_REMOVED = {"code": "state_removed", "path": "states.ASK_DAY"}
TASK_REMOVED = {"code": "task_removed", "path": "tasks.reminder"}


async def upload(cp: ControlPlane, text: str, *, publish: bool = False) -> Any:
    response = await cp.client.post(
        "/v1/tenants/acme/flows",
        params={"publish": str(publish).lower()},
        content=text,
        headers={**cp.admin, "Content-Type": "application/yaml"},
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def codes_and_paths(answer: Any) -> list[dict[str, str]]:
    return [{"code": c["code"], "path": c["path"]} for c in answer["changes"]]


async def audit_changes(cp: ControlPlane, action: str) -> Any:
    entries = (await cp.client.get("/v1/audit", params={"action": action}, headers=cp.admin)).json()
    return entries[0]["details"]


async def test_an_upload_published_over_a_live_version_lists_what_it_does(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("acme")
    first = await upload(cp, LIVE, publish=True)
    assert first["changes"] == []  # nothing was live

    answer = await upload(cp, RENAMED, publish=True)

    assert (answer["version"], answer["published"]) == (2, True)
    assert codes_and_paths(answer) == [STATE_REMOVED, TASK_REMOVED]
    day, task = answer["changes"]
    assert day["message"].startswith("contacts waiting in it restart at MENU")
    assert "pending reminders of this task will send nothing" in task["message"]
    details = await audit_changes(cp, "flow.publish")
    assert (details["from_version"], details["to_version"]) == (1, 2)
    assert details["changes"] == answer["changes"]


async def test_an_upload_kept_as_a_draft_lists_nothing(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    await upload(cp, LIVE, publish=True)
    draft = await upload(cp, RENAMED)
    assert (draft["published"], draft["changes"]) == (False, [])


async def test_re_uploading_a_draft_with_publish_lists_what_it_does(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    await upload(cp, LIVE, publish=True)
    await upload(cp, RENAMED)
    again = await upload(cp, RENAMED, publish=True)
    assert (again["version"], again["unchanged"], again["published"]) == (2, True, True)
    assert codes_and_paths(again) == [STATE_REMOVED, TASK_REMOVED]


async def test_publish_and_rollback_compare_with_the_version_live_until_then(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("acme")
    await upload(cp, LIVE, publish=True)
    await upload(cp, RENAMED)

    published = await cp.client.post("/v1/tenants/acme/flows/2/publish", headers=cp.admin)
    assert published.status_code == 200, published.text
    assert codes_and_paths(published.json()) == [STATE_REMOVED, TASK_REMOVED]

    back = await cp.client.post("/v1/tenants/acme/flows/rollback", headers=cp.admin)
    assert back.status_code == 200, back.text
    # Going back, the renamed state and task are the ones that disappear.
    assert codes_and_paths(back.json()) == [
        {"code": "state_removed", "path": "states.ASK_DATE"},
        {"code": "task_removed", "path": "tasks.nudge"},
    ]
    details = await audit_changes(cp, "flow.rollback")
    assert [c["path"] for c in details["changes"]] == ["states.ASK_DATE", "tasks.nudge"]


async def test_publishing_the_live_version_again_lists_nothing(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    await upload(cp, LIVE, publish=True)
    again = await cp.client.post("/v1/tenants/acme/flows/1/publish", headers=cp.admin)
    assert again.json()["changes"] == []


async def test_a_harmless_change_lists_nothing_and_keeps_the_audit_details_as_they_were(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("acme")
    await upload(cp, LIVE, publish=True)
    answer = await upload(cp, LIVE.replace("Which day?", "What day?"), publish=True)
    assert answer["changes"] == []
    details = await audit_changes(cp, "flow.publish")
    assert details == {"from_version": 1, "to_version": 2}


def test_a_live_version_that_no_longer_reads_lists_nothing() -> None:
    # Stored under older rules: the publish goes on, with nothing to compare.
    assert flow_changes("id: old\nstates: [not, a, mapping]\n", RENAMED) == ()
    assert flow_changes("id: [unclosed\n", RENAMED) == ()
    assert [c.code for c in flow_changes(LIVE, RENAMED)] == ["state_removed", "task_removed"]
