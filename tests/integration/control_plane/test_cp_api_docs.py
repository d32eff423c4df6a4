"""The control plane's /docs: Swagger UI at a pinned version, each file integrity-checked, and
`CP_API_DOCS=false` to serve no page at all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cp_harness import Database, make_settings, running_control_plane

from botfleet.web.openapi import SWAGGER_UI_VERSION


async def test_the_docs_page_loads_a_pinned_integrity_checked_swagger_ui(
    database: Database,
) -> None:
    async with running_control_plane(make_settings(database)) as cp:
        docs = await cp.client.get("/docs")
        redoc = await cp.client.get("/redoc")
        redirect = await cp.client.get("/docs/oauth2-redirect")
    assert docs.status_code == 200
    assert re.fullmatch(r"\d+\.\d+\.\d+", SWAGGER_UI_VERSION)
    assert "swagger-ui-dist@5/" not in docs.text
    assert '"/openapi.json"' in docs.text
    external = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="https://[^>]*>', docs.text)
    assert len(external) == 2  # the bundle and its styles, nothing else from elsewhere
    for tag in external:
        assert f"swagger-ui-dist@{SWAGGER_UI_VERSION}/" in tag
        assert re.search(r'integrity="sha384-[A-Za-z0-9+/]{64}"', tag), tag
        assert 'crossorigin="anonymous"' in tag
    # FastAPI's ReDoc page (a floating `redoc@2`) and the unused OAuth2 redirect are gone.
    assert redoc.status_code == 404
    assert redirect.status_code == 404


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_cp_api_docs_false_serves_no_page_but_keeps_the_document(
    database: Database,
) -> None:
    async with running_control_plane(make_settings(database, api_docs=False)) as cp:
        docs = await cp.client.get("/docs")
        spec = await cp.client.get("/openapi.json")
    assert docs.status_code == 404
    assert spec.status_code == 200
    assert "/v1/tenants" in spec.json()["paths"]


def test_cp_api_docs_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}")
    monkeypatch.chdir(tmp_path)  # no .env from the working tree
    monkeypatch.setenv("CP_API_DOCS", "false")
    assert make_settings(database).api_docs is False
    monkeypatch.delenv("CP_API_DOCS")
    assert make_settings(database).api_docs is True
