"""fetch_boot against a fake control plane (httpx.MockTransport): every kind of answer."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from botfleet.data_plane.config_source import (
    BootError,
    BootPayloadInvalid,
    BootRefused,
    ControlPlaneUnreachable,
    fetch_boot,
)
from botfleet.domain.tenants import BootPayload, PublishedFlow, TenantInfo

PAYLOAD = BootPayload(
    tenant=TenantInfo(id="acme", name="Acme"),
    flow=PublishedFlow(version=1, flow_id="f", yaml="id: f\n", sha256="0" * 64),
    channel={"type": "webchat"},
)
Handler = Callable[[httpx.Request], httpx.Response]


async def fetch(handler: Handler, etag: str | None = None) -> object:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        return await fetch_boot(http, "http://cp.test/", "acme", "bfb_token", etag=etag)


async def test_a_payload_comes_with_its_etag_and_the_token_as_bearer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=PAYLOAD.canonical_json(), headers={"ETag": '"abc"'})

    fetched = await fetch(handler)
    assert fetched is not None
    assert fetched.payload == PAYLOAD  # type: ignore[attr-defined]
    assert fetched.etag == '"abc"'  # type: ignore[attr-defined]
    assert str(seen[0].url) == "http://cp.test/v1/boot/acme"
    assert seen[0].headers["authorization"] == "Bearer bfb_token"
    assert "if-none-match" not in seen[0].headers


async def test_304_means_nothing_changed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["if-none-match"] == '"abc"'
        return httpx.Response(304)

    assert await fetch(handler, etag='"abc"') is None


async def test_without_an_etag_header_the_content_hash_is_used() -> None:
    fetched = await fetch(lambda r: httpx.Response(200, content=PAYLOAD.canonical_json()))
    assert fetched.etag == f'"{PAYLOAD.etag()}"'  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_count_as_unreachable(status: int) -> None:
    with pytest.raises(ControlPlaneUnreachable, match=f"HTTP {status}"):
        await fetch(lambda r: httpx.Response(status, json={"detail": "db down"}))


async def test_network_errors_count_as_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ControlPlaneUnreachable, match="ReadTimeout"):
        await fetch(handler)


@pytest.mark.parametrize(("status", "detail"), [(401, "bad token"), (403, "disabled"), (409, "x")])
async def test_refusals_keep_the_status_and_detail(status: int, detail: str) -> None:
    with pytest.raises(BootRefused) as caught:
        await fetch(lambda r: httpx.Response(status, json={"detail": detail}))
    assert caught.value.status == status
    assert detail in str(caught.value)
    assert "bfb_token" not in str(caught.value)


async def test_answers_that_are_not_this_tenants_payload_are_invalid() -> None:
    with pytest.raises(BootPayloadInvalid, match="not a boot payload"):
        await fetch(lambda r: httpx.Response(200, json={"tenant": "nope"}))
    other = PAYLOAD.model_copy(update={"tenant": TenantInfo(id="other", name="O")})
    with pytest.raises(BootPayloadInvalid, match="tenant 'other'"):
        await fetch(lambda r: httpx.Response(200, content=other.canonical_json()))
    newer = PAYLOAD.model_copy(update={"schema_version": 99})
    with pytest.raises(BootPayloadInvalid, match="upgrade the data plane"):
        await fetch(lambda r: httpx.Response(200, content=newer.canonical_json()))


async def test_a_refused_header_value_is_reported_without_the_token() -> None:
    """h11 refuses a header with a newline and quotes it: ``Illegal header value b'Bearer ...'``."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError(
            f"Illegal header value {request.headers['authorization'].encode()!r}"
        )

    with pytest.raises(BootError) as caught:
        await fetch(handler)
    assert not isinstance(caught.value, ControlPlaneUnreachable)
    assert "LocalProtocolError" in str(caught.value) and "BOOT_TOKEN" in str(caught.value)
    assert "bfb_token" not in str(caught.value)


async def test_a_token_no_header_can_carry_fails_as_a_boot_error_without_the_token() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as h:
        with pytest.raises(BootError) as caught:
            await fetch_boot(h, "http://cp.test/", "acme", "bfb_tökén")
    assert "UnicodeEncodeError" in str(caught.value)
    assert "bfb_t" not in str(caught.value)


async def test_other_transport_errors_give_their_type_not_their_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError(f"odd answer to {request.headers['authorization']}")

    with pytest.raises(ControlPlaneUnreachable) as caught:
        await fetch(handler)
    assert "RemoteProtocolError" in str(caught.value)
    assert "bfb_token" not in str(caught.value)


async def test_an_error_page_that_echoes_the_token_is_kept_without_it() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text=f"bad request: {request.headers['authorization']}")

    with pytest.raises(BootRefused) as caught:
        await fetch(handler)
    assert "bad request: Bearer [BOOT_TOKEN]" in str(caught.value)
    assert "bfb_token" not in str(caught.value)


async def test_credentials_in_the_control_plane_url_are_never_shown() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(409))) as h:
        with pytest.raises(BootRefused) as caught:
            await fetch_boot(h, "http://ops:pa55word@cp.test/", "acme", "bfb_token")
    assert caught.value.url == "http://cp.test/v1/boot/acme"
    assert "pa55word" not in str(caught.value)
