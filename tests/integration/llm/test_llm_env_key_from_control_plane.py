"""A data plane configured by a control plane never uses the process's `ANTHROPIC_API_KEY` /
`OPENAI_API_KEY`: there a tenant key may set the LLM's `base_url`, and a platform-wide key from
the environment would be sent to the host the tenant chose. A local tenant file (development)
keeps the fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import respx
from llm_runtime_kit import tenant
from respx_httpx2 import mock_sdk
from structlog.testing import capture_logs

from botfleet.adapters.llm.options import LLMOptions, missing_key
from botfleet.data_plane.bootstrap import from_control_plane
from botfleet.testing.runtime import bootstrap_test_runtime, make_settings

BASE = "https://tenant-chosen.llm.test"
PLATFORM_KEY = "sk-ant-PLATFORM-WIDE-KEY"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLATFORM_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", PLATFORM_KEY)
    with mock_sdk(BASE) as router:
        yield router


def test_the_config_source_decides() -> None:
    assert from_control_plane(make_settings(control_plane_url="http://cp.test:8001"))
    local = make_settings(control_plane_url="http://cp.test:8001", tenant_config_path=Path("t"))
    assert not from_control_plane(local)
    assert not from_control_plane(make_settings())


@pytest.mark.parametrize("provider", ["anthropic", "openai_compatible"])
def test_the_switch_stops_the_environment_fallback(api: respx.MockRouter, provider: str) -> None:
    options = LLMOptions(provider=provider)
    assert options.key() == PLATFORM_KEY
    assert options.without_environment_keys().key() is None
    assert options.key() == PLATFORM_KEY  # a copy: the options themselves are unchanged
    stored = LLMOptions(provider=provider, api_key="sk-stored").without_environment_keys()
    assert stored.key() == "sk-stored"
    problem = missing_key(LLMOptions(provider="anthropic").without_environment_keys())
    assert problem is not None and "does not read" in problem


async def test_a_data_plane_booted_from_a_control_plane_ignores_the_environment_key(
    api: respx.MockRouter,
) -> None:
    settings = make_settings(control_plane_url="http://cp.test:8001", tenant_id="test")
    config = tenant({"provider": "anthropic", "base_url": BASE})
    with capture_logs() as logs:
        async with bootstrap_test_runtime(config, settings=settings) as runtime:
            assert runtime.llm is not None
    (warning,) = [e for e in logs if e["event"] == "llm_disabled"]
    assert warning["missing"] == "llm.api_key"


async def test_a_local_tenant_file_keeps_the_environment_key(api: respx.MockRouter) -> None:
    # A data plane booted from a control plane before, in this process, changes nothing.
    cp_settings = make_settings(control_plane_url="http://cp.test:8001", tenant_id="test")
    async with bootstrap_test_runtime(tenant(), settings=cp_settings):
        pass
    config = tenant({"provider": "anthropic", "base_url": BASE})
    with capture_logs() as logs:
        async with bootstrap_test_runtime(config, settings=make_settings()) as runtime:
            assert runtime.llm is not None
    assert not [e for e in logs if e["event"] == "llm_disabled"]
