"""`botfleet validate` on a tenant file: its flow's menu warnings are its channel's."""

from __future__ import annotations

from pathlib import Path

import pytest

from botfleet.adapters.channels.limits import declared_channel_limits
from botfleet.cli.validation import validate_file, validate_files
from botfleet.control_plane.db.tables import Tenant
from botfleet.control_plane.services.flows import tenant_channel

#: Menus over WhatsApp's limits and within the web chat's, one id over Telegram's 64 bytes.
MENU_FLOW = (Path(__file__).parents[2] / "fixtures/flows/channel_menu.yaml").read_text("utf-8")
LONG_ID = "states.MENU.on_enter[0].buttons[3].id"
WHATSAPP_PATHS = [
    "states.MENU.on_enter[0].buttons",
    "states.MENU.on_enter[0].buttons[0].title",
    "states.MENU.on_enter[1].button_label",
    "states.MENU.on_enter[1].sections",
    "states.MENU.on_enter[1].sections[0].title",
]


def flow_warnings(tmp_path: Path, channel: str) -> list[tuple[str, str]]:
    (tmp_path / "menu.yaml").write_text(MENU_FLOW, encoding="utf-8")
    tenant = tmp_path / "tenant.yaml"
    tenant.write_text(
        f"tenant_id: acme\nflow_path: menu.yaml\nchannel: {{type: {channel}}}\n", encoding="utf-8"
    )
    return sorted(
        (f.path, f.message)
        for f in validate_file(tenant).findings
        if f.severity == "warning" and f.path.startswith("states.")
    )


def test_a_telegram_tenant_gets_telegrams_warnings_only(tmp_path: Path) -> None:
    [(path, message)] = flow_warnings(tmp_path, "telegram")
    assert path == LONG_ID
    assert message.startswith("70 bytes: a press on Telegram carries at most 64 bytes")


def test_a_whatsapp_tenant_gets_whatsapps_warnings(tmp_path: Path) -> None:
    found = flow_warnings(tmp_path, "whatsapp")
    assert [path for path, _ in found] == WHATSAPP_PATHS
    assert all("WhatsApp" in message for _, message in found)


def test_a_web_chat_tenant_gets_no_menu_warnings(tmp_path: Path) -> None:
    assert flow_warnings(tmp_path, "webchat") == []


def test_an_inline_flow_gets_its_tenants_channel_too(tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.yaml"
    inline = "".join(f"  {line}\n" for line in MENU_FLOW.splitlines())
    tenant.write_text(
        f"tenant_id: acme\nchannel: {{type: telegram}}\nflow_yaml: |\n{inline}", encoding="utf-8"
    )
    [report] = validate_files([tenant])
    assert [f.path for f in report.findings if f.path.startswith("states.")] == [LONG_ID]


def test_a_flow_file_alone_keeps_whatsapps_warnings(tmp_path: Path) -> None:
    flow = tmp_path / "menu.yaml"
    flow.write_text(MENU_FLOW, encoding="utf-8")
    found = validate_file(flow).findings
    assert [f.path for f in found] == WHATSAPP_PATHS
    assert all("WhatsApp" in f.message for f in found)


@pytest.mark.parametrize("kind", ["whatsapp", "telegram", "webchat", "http_dev", "sms"])
def test_the_control_plane_reads_a_tenants_channel_as_validate_does(kind: str) -> None:
    tenant = Tenant(id="acme", channel={"type": kind})
    assert tenant_channel(tenant) == declared_channel_limits(kind)
    assert (declared_channel_limits(kind) is None) == (kind == "sms")


def test_a_flow_file_beside_its_telegram_tenant_gets_telegrams_warnings_only(
    tmp_path: Path,
) -> None:
    # A folder holding the tenant and its flow (`botfleet validate vet/`): not WhatsApp's too.
    flow_warnings(tmp_path, "telegram")  # writes menu.yaml and tenant.yaml
    for order in ([tmp_path / "menu.yaml", tmp_path / "tenant.yaml"],
                  [tmp_path / "tenant.yaml", tmp_path / "menu.yaml"]):  # fmt: skip
        reports = {Path(r.file).name: r for r in validate_files(order)}
        assert [f.path for f in reports["menu.yaml"].findings] == [LONG_ID]
        assert reports["tenant.yaml"].flow_findings == 1


def test_a_flow_file_no_tenant_of_the_run_uses_keeps_whatsapps_warnings(tmp_path: Path) -> None:
    flow_warnings(tmp_path, "telegram")
    other = tmp_path / "other.yaml"
    other.write_text(MENU_FLOW, encoding="utf-8")
    reports = {Path(r.file).name: r for r in validate_files([other, tmp_path / "tenant.yaml"])}
    assert [f.path for f in reports["other.yaml"].findings] == WHATSAPP_PATHS
