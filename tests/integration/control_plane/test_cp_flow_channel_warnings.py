"""A flow uploaded for a tenant is warned about with the limits of the tenant's channel."""

from __future__ import annotations

from pathlib import Path

from cp_harness import ControlPlane

#: Menus over WhatsApp's limits and within the web chat's, one id over Telegram's 64 bytes.
MENU_FLOW = (Path(__file__).parents[2] / "fixtures/flows/channel_menu.yaml").read_text("utf-8")


async def upload_warnings(cp: ControlPlane, channel: dict[str, str] | None) -> list[str]:
    fields = {} if channel is None else {"channel": channel}
    await cp.create_tenant("acme", **fields)
    response = await cp.client.post(
        "/v1/tenants/acme/flows",
        content=MENU_FLOW,
        headers={**cp.admin, "Content-Type": "text/yaml"},
    )
    assert response.status_code == 201, response.text
    warnings: list[str] = response.json()["warnings"]
    return warnings


async def test_a_telegram_tenants_upload_is_warned_of_telegrams_limits(cp: ControlPlane) -> None:
    [warning] = await upload_warnings(cp, {"type": "telegram"})
    assert "states.MENU.on_enter[0].buttons[3].id: [warning] 70 bytes: a press on Telegram" in (
        warning
    )


async def test_a_web_chat_tenants_upload_has_no_menu_warnings(cp: ControlPlane) -> None:
    assert await upload_warnings(cp, {"type": "webchat"}) == []


async def test_a_whatsapp_tenants_upload_keeps_whatsapps_warnings(cp: ControlPlane) -> None:
    warnings = await upload_warnings(cp, {"type": "whatsapp", "phone_number_id": "123"})
    assert len(warnings) == 5
    assert all("WhatsApp" in w for w in warnings)


async def _shown_warnings(cp: ControlPlane) -> tuple[list[str], list[str]]:
    listed = await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)
    assert listed.status_code == 200, listed.text
    read = await cp.client.get("/v1/tenants/acme/flows/1", headers=cp.admin)
    assert read.status_code == 200, read.text
    [item] = listed.json()["versions"]
    return item["warnings"], read.json()["warnings"]


async def test_a_new_channel_type_updates_the_stored_versions_warnings(cp: ControlPlane) -> None:
    """Warnings are stored at upload for the channel then; a channel of another type checks
    the stored versions again, so listings speak of the channel the flow now runs on."""
    assert await upload_warnings(cp, {"type": "webchat"}) == []
    key = cp.auth(await cp.tenant_key("acme"))

    whatsapp = {"channel": {"type": "whatsapp", "phone_number_id": "123"}}
    changed = await cp.client.patch("/v1/tenants/acme", json=whatsapp, headers=key)
    assert changed.status_code == 200, changed.text
    listed, read = await _shown_warnings(cp)
    assert listed == read
    assert len(listed) == 5
    assert all(w.startswith("acme/flow@v1") and "WhatsApp" in w for w in listed)

    back = await cp.client.patch("/v1/tenants/acme", json={"channel": {"type": "webchat"}},
                                 headers=cp.admin)  # fmt: skip
    assert back.status_code == 200, back.text
    assert await _shown_warnings(cp) == ([], [])


async def test_only_the_published_and_the_latest_versions_are_checked_again(
    cp: ControlPlane,
) -> None:
    """The check runs under the tenant's lock: two versions at most, not every one stored."""
    assert await upload_warnings(cp, {"type": "webchat"}) == []  # v1
    for number in (2, 3):
        response = await cp.client.post(
            "/v1/tenants/acme/flows" + ("?publish=true" if number == 2 else ""),
            content=MENU_FLOW + f"# version {number}\n",
            headers={**cp.admin, "Content-Type": "text/yaml"},
        )
        assert response.status_code == 201, response.text
    whatsapp = {"channel": {"type": "whatsapp", "phone_number_id": "123"}}
    changed = await cp.client.patch("/v1/tenants/acme", json=whatsapp, headers=cp.admin)
    assert changed.status_code == 200, changed.text
    listed = await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)
    counts = {v["version"]: len(v["warnings"]) for v in listed.json()["versions"]}
    assert counts == {1: 0, 2: 5, 3: 5}


async def test_each_more_channels_limits_warn_too(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", channel={"type": "webchat"})
    more = {"more_channels": [{"type": "telegram"}]}
    added = await cp.client.patch("/v1/tenants/acme", json=more, headers=cp.admin)
    assert added.status_code == 200, added.text
    response = await cp.client.post(
        "/v1/tenants/acme/flows",
        content=MENU_FLOW,
        headers={**cp.admin, "Content-Type": "text/yaml"},
    )
    assert response.status_code == 201, response.text
    [warning] = response.json()["warnings"]  # the web chat's: none; Telegram's: one
    assert "70 bytes: a press on Telegram" in warning

    whatsapp = {
        "more_channels": [{"type": "telegram"}, {"type": "whatsapp", "phone_number_id": "123"}]
    }
    changed = await cp.client.patch("/v1/tenants/acme", json=whatsapp, headers=cp.admin)
    assert changed.status_code == 200, changed.text
    listed, read = await _shown_warnings(cp)
    assert listed == read and len(listed) == 6  # Telegram's one, WhatsApp's five
    assert sum("WhatsApp" in w for w in listed) == 5

    gone = await cp.client.patch("/v1/tenants/acme", json={"more_channels": []}, headers=cp.admin)
    assert gone.status_code == 200, gone.text
    assert await _shown_warnings(cp) == ([], [])
