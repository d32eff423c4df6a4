"""A tenant id names files and folders: `..`, `.` and ids starting with a dot or a dash are
refused in a tenant file and in `DP_TENANT_ID`; with a control plane, only the ids it registers
are taken (any other would be asked for forever)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.domain.tenant_ids import local_tenant_id_problem, registered_tenant_id_problem

NOT_FOLDERS = ["..", ".", ".hidden", "-rf", "a/b", "../../etc", "", "x" * 64, "shop\n", "ü"]


@pytest.mark.parametrize("tenant_id", NOT_FOLDERS)
def test_an_id_that_is_no_folder_of_its_own_is_refused(tenant_id: str) -> None:
    assert local_tenant_id_problem(tenant_id) is not None


@pytest.mark.parametrize("tenant_id", ["shop", "Shop.1", "_demo", "a-b_c.d", "x" * 63])
def test_ids_of_letters_digits_and_inner_dots_are_taken(tenant_id: str) -> None:
    assert local_tenant_id_problem(tenant_id) is None


@pytest.mark.parametrize("tenant_id", ["Shop", "shop.1", "-shop", "shop-", "_x", "x" * 64])
def test_a_control_plane_takes_its_own_ids_only(tenant_id: str) -> None:
    assert registered_tenant_id_problem(tenant_id) is not None
    assert registered_tenant_id_problem("shop-1") is None


def test_a_tenant_file_naming_the_folder_above_is_refused_at_its_key() -> None:
    with pytest.raises(ConfigError) as raised:
        tenant_config_from_mapping({"tenant_id": "..", "flow_path": "f.yaml"}, source="t.yaml")
    text = str(raised.value)
    assert "t.yaml" in text and "tenant_id" in text
    assert "starting with a letter, a digit or '_'" in text


def test_dp_tenant_id_is_checked_against_the_plane_that_names_it() -> None:
    with pytest.raises(ValidationError, match="DP_TENANT_ID: a tenant id is"):
        DataPlaneSettings(tenant_id="..")
    with pytest.raises(ValidationError, match="DP_TENANT_ID: a control plane's tenant id"):
        DataPlaneSettings(tenant_id="Shop.1", control_plane_url="http://127.0.0.1:8001")
    assert DataPlaneSettings(tenant_id="Shop.1").tenant_id == "Shop.1"
    local = DataPlaneSettings(tenant_id="shop-1", control_plane_url="http://127.0.0.1:8001")
    assert local.tenant_id == "shop-1"


def test_a_blank_dp_tenant_id_is_not_set_rather_than_refused() -> None:
    """`DP_TENANT_ID=` in a .env means none: the boot pull says it is missing, as before."""
    assert DataPlaneSettings(tenant_id="  ").tenant_id == ""
    assert (
        DataPlaneSettings(tenant_id="", control_plane_url="http://127.0.0.1:8001").tenant_id == ""
    )
