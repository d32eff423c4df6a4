"""A data plane pulls its configuration from the real control plane, and runs it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import h11
import httpx
import pytest
from boot_harness import cp_transport, dp_settings, running_data_plane, texts
from cp_harness import ControlPlane
from structlog.testing import capture_logs

from botfleet.data_plane.config_source import (
    CACHE_FILE,
    BootError,
    BootRefused,
    pull_boot_config,
)
from botfleet.domain.errors import ConfigError


async def test_the_data_plane_runs_the_published_flow_and_knowledge(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme", timezone="Europe/Madrid", language="es")
    await cp.upload_flow("acme", "one", publish=True)
    await cp.client.post(
        "/v1/tenants/acme/knowledge?publish=true",
        content="# Hours\nMonday to Friday",
        headers={**cp.admin, "Content-Type": "text/markdown"},
    )
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    assert booted.origin == "control_plane"
    assert booted.config.tenant_id == "acme"
    assert booted.config.timezone == "Europe/Madrid"
    assert booted.config.knowledge == "# Hours\nMonday to Friday"
    assert booted.config.llm.knowledge_version == "v1"
    assert (tmp_path / "dp" / "acme" / CACHE_FILE).exists()
    async with running_data_plane(settings, booted) as chat:
        assert texts(await chat.say("ana", "hi")) == ["Hello from version one"]
        health = (await chat.http.get("/health")).json()
        assert health["tenant_id"] == "acme"
        assert (health["flow_id"], health["flow_version"]) == ("tiny_flow", "v1")
        assert health["knowledge_version"] == "v1"
        assert chat.runtime.live.knowledge == "# Hours\nMonday to Friday"
    # The state lives on the tenant's volume, beside the cached copy.
    assert (tmp_path / "dp" / "acme" / "state.db").exists()


async def test_a_flow_error_at_boot_names_the_line_of_the_uploaded_version(
    cp: ControlPlane, tmp_path: Path
) -> None:
    from botfleet.data_plane.config_source import tenant_config_from_boot
    from botfleet.data_plane.config_source.pull import checked_config
    from botfleet.domain.errors import FlowValidationError
    from botfleet.domain.tenants import BootPayload

    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", publish=True)
    response = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    payload = BootPayload.model_validate(response.json())
    broken_yaml = payload.flow.yaml.replace("fallback: MENU", "fallback: NOWHERE")
    broken = payload.model_copy(
        update={"flow": payload.flow.model_copy(update={"yaml": broken_yaml})}
    )
    assert tenant_config_from_boot(broken).flow_yaml == broken_yaml
    with pytest.raises(FlowValidationError) as caught:
        checked_config(broken)
    [issue] = [i for i in caught.value.issues if i.severity == "error"]
    assert issue.line == broken_yaml.splitlines().index("    fallback: NOWHERE") + 1
    assert "control-plane boot config of 'acme' (flow v1)" in issue.source


async def test_missing_settings_are_named(tmp_path: Path) -> None:
    settings = dp_settings(tmp_path, "token", tenant_id=None)
    with pytest.raises(ConfigError, match="TENANT_ID"):
        await pull_boot_config(settings)


async def test_a_wrong_boot_token_with_no_cache_keeps_waiting_and_says_why(
    cp: ControlPlane, tmp_path: Path
) -> None:
    await cp.create_tenant("acme")
    await cp.upload_flow("acme", publish=True)
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    settings = dp_settings(tmp_path, "bfb_wrong")
    with capture_logs() as logs, pytest.raises(BootRefused) as caught:
        await pull_boot_config(
            settings, transport=cp_transport(cp), give_up_after_s=0.5, sleep=no_sleep
        )
    assert caught.value.status == 401
    waiting = [e for e in logs if e["event"] == "boot_waiting_for_control_plane"]
    assert waiting and "HTTP 401" in waiting[0]["reason"]
    assert "bfb_wrong" not in json.dumps(logs, default=str)


class HeaderCheckingTransport(httpx.AsyncBaseTransport):
    """Checks the headers as the real HTTP/1.1 transport does (h11, whose refusal quotes the
    value), then hands the request to `inner`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            h11.Request(
                method=request.method, target=request.url.raw_path, headers=request.headers.raw
            )
        except h11.LocalProtocolError as exc:  # as httpcore maps it
            raise httpx.LocalProtocolError(str(exc)) from exc
        return await self.inner.handle_async_request(request)


async def test_a_boot_token_read_with_its_newline_works_and_never_reaches_the_logs(
    cp: ControlPlane, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", publish=True)
    transport = HeaderCheckingTransport(cp_transport(cp))

    async def no_sleep(seconds: float) -> None:
        return None

    # Read through the settings, the newline of a token file is gone.
    settings = dp_settings(tmp_path, f"{token}\n")
    booted = await pull_boot_config(
        settings, transport=transport, give_up_after_s=0, sleep=no_sleep
    )
    assert booted.origin == "control_plane"

    # Had it come through (settings built without validation), nothing would show it.

    unchecked = dp_settings(tmp_path / "other", token).model_copy(
        update={"boot_token": f"{token}\n"}
    )
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs, pytest.raises(BootError) as caught:
        await pull_boot_config(unchecked, transport=transport, give_up_after_s=0, sleep=no_sleep)
    assert "LocalProtocolError" in caught.value.reason
    assert [e["event"] for e in logs] == ["boot_waiting_for_control_plane"]
    for text in (json.dumps(logs, default=str), caplog.text, str(caught.value)):
        assert token not in text
