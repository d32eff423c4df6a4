"""Swagger UI on a data plane: off unless `DP_API_DOCS` asks for it (its page would run a CDN's
script on the web chat's origin); the OpenAPI document is served either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.domain.tenant_config import load_tenant_config
from botfleet.testing.runtime import make_settings, running_app
from botfleet.web.openapi import SWAGGER_UI_VERSION

DEMO = Path(__file__).parents[3] / "examples" / "tenants" / "demo.yaml"


async def test_a_web_chat_data_plane_serves_no_swagger_ui_by_default(tmp_path: Path) -> None:
    config = load_tenant_config(DEMO)
    async with running_app(config, settings=make_settings(data_dir=tmp_path)) as chat:
        docs = await chat.http.get("/docs")
        assert docs.status_code == 404
        assert "swagger" not in docs.text.lower()
        assert (await chat.http.get("/redoc")).status_code == 404
        spec = await chat.http.get("/openapi.json")
        assert spec.status_code == 200
        assert "/inbound" in spec.json()["paths"]
        # The chat page itself, and its policy, are untouched.
        page = await chat.http.get("/")
        assert page.status_code == 200
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'; ")


async def test_dp_api_docs_turns_the_pinned_page_on(tmp_path: Path) -> None:
    config = load_tenant_config(DEMO)
    settings = make_settings(data_dir=tmp_path, api_docs=True)
    async with running_app(config, settings=settings) as chat:
        docs = await chat.http.get("/docs")
    assert docs.status_code == 200
    assert f"swagger-ui-dist@{SWAGGER_UI_VERSION}/swagger-ui-bundle.js" in docs.text
    assert 'integrity="sha384-' in docs.text


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("0", False)])
def test_dp_api_docs_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, expected: bool
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the working tree
    monkeypatch.setenv("DP_API_DOCS", value)
    assert DataPlaneSettings().api_docs is expected
    monkeypatch.delenv("DP_API_DOCS")
    assert DataPlaneSettings().api_docs is False
