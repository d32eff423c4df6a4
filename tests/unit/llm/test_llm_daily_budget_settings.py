"""`quota_daily_tokens` and `quota_daily_questions_per_contact`: accepted as whole numbers of 0
or more in the tenant file and by the control plane; anything else is refused naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.adapters.llm import llm_options
from botfleet.control_plane.binding_schemas import validate_llm
from botfleet.control_plane.errors import InvalidInput
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping

FLOW = {"id": "f", "initial_state": "A", "states": {"A": {}}}
KEYS = ("quota_daily_tokens", "quota_daily_questions_per_contact")
BAD: list[tuple[Any, str]] = [
    (-1, "greater than or equal to 0"),
    (1.5, "valid integer"),
    (2.0, "valid integer"),
    ("5000", "valid integer"),
    (True, "valid integer"),
    ([3], "valid integer"),
]


def config(**llm: Any) -> TenantConfig:
    return tenant_config_from_mapping(
        {"tenant_id": "t", "flow": FLOW, "llm": {"enabled": True, **llm}}, source="t.yaml"
    )


def test_the_daily_budgets_are_read_and_default_to_none() -> None:
    options = llm_options(config(quota_daily_tokens=50_000, quota_daily_questions_per_contact=20))
    assert (options.quota_daily_tokens, options.quota_daily_questions_per_contact) == (50_000, 20)
    unset = llm_options(config())
    assert (unset.quota_daily_tokens, unset.quota_daily_questions_per_contact) == (None, None)
    zero = llm_options(config(quota_daily_tokens=0, quota_daily_questions_per_contact=0))
    assert (zero.quota_daily_tokens, zero.quota_daily_questions_per_contact) == (0, 0)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(("value", "says"), BAD)
def test_a_bad_value_in_the_tenant_file_names_the_file_and_key(
    key: str, value: Any, says: str
) -> None:
    with pytest.raises(ConfigError, match=rf"t\.yaml: llm\.{key}: {key}: .*{says}"):
        llm_options(config(**{key: value}))


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(("value", "says"), BAD)
def test_the_control_plane_refuses_a_bad_value_naming_the_key(
    key: str, value: Any, says: str
) -> None:
    with pytest.raises(InvalidInput, match=rf"^llm\.{key}: .*{says}"):
        validate_llm({"enabled": True, key: value})


def test_the_control_plane_accepts_the_daily_budgets() -> None:
    llm = {"enabled": True, "quota_daily_tokens": 1000, "quota_daily_questions_per_contact": 5}
    assert validate_llm(llm) == llm
