"""Fixtures of the fault tests: the demo tenant (LLM off); the control plane's test harness
(`cp_harness`) and the reminder crash tests' (`reminder_harness`) on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from botfleet.domain.tenant_config import TenantConfig, load_tenant_config

REPO = Path(__file__).resolve().parents[2]
# The control plane's test harness (in-process app, fresh databases) is shared, not copied.
sys.path.insert(0, str(REPO / "tests" / "integration" / "control_plane"))
# So is the reminder crash and replay tests' harness (a reminder flow, a killed turn, the restart).
sys.path.insert(0, str(REPO / "tests" / "integration" / "scheduling"))
DEMO_TENANT = REPO / "examples" / "tenants" / "demo.yaml"


def without_llm(config: TenantConfig) -> TenantConfig:
    """Free text then follows the flow's own fallback (the LLM is another suite's subject)."""
    return config.model_copy(update={"llm": config.llm.model_copy(update={"enabled": False})})


@pytest.fixture
def demo_config() -> TenantConfig:
    return without_llm(load_tenant_config(DEMO_TENANT))
