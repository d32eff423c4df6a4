"""`control_plane.url_policy`: which URLs a tenant key may put in its bindings, the URL places
found in every binding model, the lookups (always a fake resolver: no real DNS), and the
`CP_TENANT_URL_POLICY` setting."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import AliasChoices, BaseModel, ValidationError

from botfleet.control_plane.binding_schemas import (
    channel_types,
    connector_types,
    llm_options_model,
)
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.principals import ADMIN, Principal
from botfleet.control_plane.settings import ControlPlaneSettings
from botfleet.control_plane.url_policy import (
    LOOKUPS_AT_ONCE,
    TenantUrlGuard,
    UrlPlace,
    address_problem,
    changed_places,
    is_url_key,
    url_places,
)

TENANT = Principal(kind="tenant", tenant_id="acme", key_id="k1")


class Dns:
    """A resolver answering from a table; unknown names do not resolve."""

    def __init__(self, table: dict[str, Sequence[str]] | None = None, delay_s: float = 0) -> None:
        self.table = table or {}
        self.delay_s = delay_s
        self.asked: list[str] = []

    async def __call__(self, host: str) -> Sequence[str]:
        self.asked.append(host)
        await asyncio.sleep(self.delay_s)
        if host.removesuffix(".") not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host.removesuffix(".")]


async def _why(url: str, dns: Dns | None = None, field: str = "llm.base_url") -> str | None:
    guard = TenantUrlGuard("public", dns or Dns(), timeout_s=0.5)
    try:
        await guard.check([UrlPlace(field, url)])
    except InvalidInput as exc:
        assert exc.field == field
        assert "CP_TENANT_URL_POLICY=public" in exc.detail
        return exc.detail
    return None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.1/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://0x7f000001/", "loopback"),
        ("http://0x7f.1/", "loopback"),
        ("http://0177.0.0.1/", "loopback"),
        ("http://0x7F.0.0.1./", "loopback"),
        ("http://127.0.0.1./", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[0:0:0:0:0:0:0:1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback address, carried in an IPv6 address"),
        ("http://[::ffff:7f00:1]/", "loopback address, carried in an IPv6 address"),
        ("http://[::ffff:a9fe:a9fe]/", "link-local address (where cloud metadata"),
        ("http://[2002:a9fe:a9fe::]/", "carried in an IPv6 address"),  # 6to4
        ("http://[64:ff9b::a9fe:a9fe]/", "carried in an IPv6 address"),  # NAT64
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://2852039166/", "link-local"),  # 169.254.169.254 as one number
        ("http://[fe80::1%25eth0]/", "link-local"),
        ("http://10.1.2.3/", "private-network"),
        ("http://172.31.255.1/", "private-network"),
        ("http://192.168.0.1/", "private-network"),
        ("http://[fc00::1]/", "private-network"),
        ("http://[fd12:3456::1]/", "private-network"),
        ("http://100.100.100.200/", "carrier-grade NAT"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.251/", "multicast"),
        ("http://255.255.255.255/", "reserved"),
        ("http://240.0.0.1/", "reserved"),
        ("http://localhost/", "is localhost"),
        ("HTTP://LocalHost:8080/", "is localhost"),
        ("http://localhost./", "is localhost"),
        ("http://tenant.localhost/", "is localhost"),
        ("http://ｌｏｃａｌｈｏｓｔ/", "is localhost"),  # full-width letters fold to ASCII
        ("http://１２７.０.０.１/", "loopback"),
        ("http://127。0。0。1/", "loopback"),  # ideographic full stops
        ("http://redis/", "single-label"),
        ("http://dp-acme:8002/", "single-label"),
        ("http://web.bots.svc/", "is in .svc"),
        ("http://web.bots.svc.cluster.local/", "is in .local"),
        ("http://metadata.google.internal/", "is in .internal"),
        ("http://printer.local./", "is in .local"),
        ("http://router.home.arpa/", "is in .arpa"),
        ("http://public.example.com@127.0.0.1/", "user information"),
        ("http://user:pw@api.openai.com/", "user information"),
        ("http://010.0.0.1/", "another form than four decimal numbers"),  # 8.0.0.1 or 10.0.0.1?
        ("http://134744072/", "another form than four decimal numbers"),  # 8.8.8.8, public
        ("http://1.2.3.09/", "not a valid IPv4 address"),
        ("http://1.2.3.4.5/", "not a valid IPv4 address"),
        ("http://api.0x1/", "not a valid IPv4 address"),
        ("http://%31%32%37.0.0.1/", "not a valid host name"),
        ("http://127.0.0.1\\.evil.example.com/", "not a valid host name"),
        ("http://a..example.com/", "not a valid host name"),
        ("http://[localhost]/", "cannot be read as a URL"),
        ("http://api.openai.com:http/", "cannot be read as a URL"),
        ("file:///etc/passwd", "has no host name"),
        ("//10.0.0.1/calendars/", "private-network"),
    ],
)
async def test_internal_hosts_are_refused_without_a_lookup(url: str, why: str) -> None:
    dns = Dns()
    detail = await _why(url, dns)
    assert detail is not None and why in detail, detail
    assert detail.startswith("the URL's host ")
    assert dns.asked == []


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1",
        "HTTPS://API.OPENAI.COM/v1",
        "https://api.openai.com./v1",
        "https://caldav.icloud.com/",
        "https://graph.facebook.com",
        "  https://api.telegram.org  ",
    ],
)
async def test_public_names_pass_once_looked_up(url: str) -> None:
    dns = Dns({"api.openai.com": ["162.159.140.245"], "caldav.icloud.com": ["17.248.131.1"],
               "graph.facebook.com": ["157.240.1.1", "2a03:2880:f003:c07:face:b00c::2"],
               "api.telegram.org": ["149.154.167.220"]})  # fmt: skip
    assert await _why(url, dns) is None
    assert len(dns.asked) == 1


@pytest.mark.parametrize("url", ["https://8.8.8.8/", "https://[2606:4700:4700::1111]:443/v1"])
async def test_public_addresses_pass_without_a_lookup(url: str) -> None:
    dns = Dns()
    assert await _why(url, dns) is None
    assert dns.asked == []


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (["10.0.0.7"], "resolves to a private-network address"),
        (["162.159.140.245", "127.0.0.1"], "resolves to a loopback address"),
        (["fe80::1%eth0"], "resolves to a link-local address"),
        (["::ffff:10.0.0.7"], "resolves to a private-network address"),
        ([], "does not resolve"),
    ],
)
async def test_a_name_resolving_to_an_internal_address_is_refused(
    answer: list[str], why: str
) -> None:
    detail = await _why("https://rebind.example.com/v1", Dns({"rebind.example.com": answer}))
    assert detail is not None and why in detail, detail
    assert "rebind" not in detail  # never the URL


async def test_a_name_that_does_not_resolve_or_too_slowly_is_refused() -> None:
    missing = await _why("https://nowhere.example.com/", Dns())
    assert missing is not None and "does not resolve from the control plane" in missing
    slow = TenantUrlGuard("public", Dns({"slow.example.com": ["8.8.8.8"]}, delay_s=5), 0.05)
    with pytest.raises(InvalidInput, match=r"took longer than 0\.05s"):
        await slow.check([UrlPlace("llm.base_url", "https://slow.example.com/")])


async def test_lookups_are_made_once_per_name_and_capped() -> None:
    dns = Dns({f"h{i}.example.com": ["8.8.8.8"] for i in range(20)})
    guard = TenantUrlGuard("public", dns)
    places = [UrlPlace(f"llm.replies[{i}]", f"https://h{i % 3}.example.com/{i}") for i in range(9)]
    assert await guard.check(places) == frozenset(places)
    assert sorted(dns.asked) == ["h0.example.com", "h1.example.com", "h2.example.com"]
    many = [UrlPlace(f"llm.replies[{i}]", f"https://h{i}.example.com/") for i in range(17)]
    with pytest.raises(InvalidInput, match="at most 16 can be checked"):
        await guard.check(many)
    dns.asked.clear()
    assert await guard.check(places, passed=frozenset(places)) == frozenset(places)
    assert dns.asked == []


async def test_removing_is_refused_only_for_what_is_known_to_be_internal() -> None:
    """`check_removable`: a URL's form or a name resolving inside holds it; a name that does
    not resolve, a missing resolver or more names than one change may look up do not."""
    table = {f"h{i}.example.com": ["8.8.8.8"] for i in range(20)}
    dns = Dns({**table, "inside.example.com": ["10.1.2.3"]})
    guard = TenantUrlGuard("public", dns, timeout_s=0.5)
    lapsed = [UrlPlace("connectors.notification.url", "https://lapsed.example.com/hook")]
    assert await guard.check_removable(lapsed) == frozenset(lapsed)
    with pytest.raises(InvalidInput, match="resolves to a private-network address"):
        await guard.check_removable([UrlPlace("llm.base_url", "https://inside.example.com/")])
    dns.asked.clear()
    with pytest.raises(InvalidInput, match=r"is a loopback address; CP_TENANT_URL_POLICY"):
        await guard.check_removable([UrlPlace("llm.base_url", "http://127.0.0.1:8000/v1")])
    assert dns.asked == []
    many = [UrlPlace(f"llm.replies[{i}]", f"https://h{i}.example.com/") for i in range(20)]
    assert await guard.check_removable(many) == frozenset(many)
    assert len(dns.asked) == 16  # the limit of lookups holds; the names past it pass
    assert await TenantUrlGuard("public").check_removable(lapsed) == frozenset(lapsed)


async def test_a_review_reports_every_refused_place_whatever_the_policy() -> None:
    """Stored URLs: every refusal (not the first), no cap on names, under `any` too."""
    names = {f"h{i}.example.com": ["8.8.8.8"] for i in range(30)}
    dns = Dns({**names, "inside.example.com": ["10.1.2.3"]}, delay_s=0.02)
    places = [UrlPlace(f"llm.replies[{i}]", f"https://h{i}.example.com/") for i in range(30)]
    bad = [
        UrlPlace("llm.base_url", "http://127.0.0.1:8000/v1"),
        UrlPlace("connectors.calendar.url", "https://inside.example.com/dav"),
    ]
    running, most = 0, 0

    async def counted(host: str) -> Sequence[str]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            return await dns(host)
        finally:
            running -= 1

    # At most 4 at a time (the resolver's threads): a lookup's timeout is not spent queueing.
    guard = TenantUrlGuard("any", counted, timeout_s=0.1)
    assert await guard.review([*bad, *places, *places]) == {
        bad[0]: "the URL's host is a loopback address",
        bad[1]: "the URL's host resolves to a private-network address",
    }
    assert len(dns.asked) == 31, "each name once"
    assert most == LOOKUPS_AT_ONCE == 4
    dns.asked.clear()
    by_form = await guard.review([*bad, *places], look_up=False)
    assert by_form == {bad[0]: "the URL's host is a loopback address"}
    assert dns.asked == []


async def test_checks_and_reviews_take_turns_on_the_resolver_threads() -> None:
    """Every lookup, a change's or a review's, waits for one of `lookups_at_once` turns, and
    its timeout starts with the turn: on a resolver of that many threads none times out
    queued (each takes 0.1 s of its 0.15 s, six of them on two threads)."""
    dns = Dns({f"h{i}.example.com": ["8.8.8.8"] for i in range(6)}, delay_s=0.1)
    running, most = 0, 0

    async def counted(host: str) -> Sequence[str]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            return await dns(host)
        finally:
            running -= 1

    guard = TenantUrlGuard("public", counted, timeout_s=0.15, lookups_at_once=2)
    changed = [UrlPlace(f"llm.replies[{i}]", f"https://h{i}.example.com/") for i in range(3)]
    stored = [UrlPlace(f"llm.replies[{i}]", f"https://h{i}.example.com/") for i in range(3, 6)]
    passed, refused = await asyncio.gather(guard.check(changed), guard.review(stored))
    assert passed == frozenset(changed)
    assert refused == {}
    assert most == 2
    assert guard.turn_wait_s == pytest.approx(0.15 * 8)  # 16 lookups, two at a time


def test_a_place_nested_too_deep_is_refused_by_check_and_review() -> None:
    deep = UrlPlace("body.info.a", "", too_deep=True)
    guard = TenantUrlGuard("public", Dns())
    with pytest.raises(InvalidInput, match="nests deeper than 64 levels") as raised:
        asyncio.run(guard.check([deep]))
    assert raised.value.field == "body.info.a"
    reviewed = asyncio.run(guard.review([deep]))
    assert reviewed == {
        deep: "nests deeper than 64 levels, too deep for the URLs in it to be checked"
    }
    # Sent back unchanged or not, it is not compared: always a changed place.
    nested: object = "https://public.example.com/"
    for _ in range(70):
        nested = {"a": nested}
    assert [p.too_deep for p in changed_places({"llm": nested}, {"llm": nested})] == [True]


def test_the_guard_applies_to_tenant_keys_under_public_only() -> None:
    assert TenantUrlGuard("public").applies_to(TENANT)
    assert not TenantUrlGuard("public").applies_to(ADMIN)
    assert not TenantUrlGuard("any").applies_to(TENANT)


def test_address_problem_lets_public_unicast_through() -> None:
    for text in ("8.8.8.8", "162.159.140.245", "2606:4700:4700::1111"):
        assert address_problem(ipaddress.ip_address(text)) is None


# ---------------------------------------------------------------- where URLs are found


def test_url_places_finds_urls_at_any_depth_and_skips_origins() -> None:
    binding = {
        "calendar": {"type": "caldav", "url": " https://dav.example.com/ ",
                     "calendar_id": "//10.0.0.1/c", "calendar_name": "//not a url field"},
        "llm": {"type": "mock_llm", "replies": ["see https://x.example.com for more",
                                                "http://10.0.0.1/"]},
        "web": {"allowed_origins": ["http://localhost:3000"]},
        "odd": {"base_url": "http://127.0.0.1\t/v1"},
    }  # fmt: skip
    assert url_places("connectors", binding) == [
        UrlPlace("connectors.calendar.url", "https://dav.example.com/"),
        UrlPlace("connectors.calendar.calendar_id", "//10.0.0.1/c"),
        UrlPlace("connectors.llm.replies[1]", "http://10.0.0.1/"),
        UrlPlace("connectors.odd.base_url", "http://127.0.0.1\t/v1"),
    ]


def test_url_places_reads_json_text_when_asked() -> None:
    values = {"service_account_info": '{"token_uri": "http://169.254.169.254/token"}'}
    assert url_places("body", values) == []
    assert url_places("body", values, json_strings=True) == [
        UrlPlace("body.service_account_info.token_uri", "http://169.254.169.254/token")
    ]


def test_only_new_or_moved_urls_are_checked() -> None:
    old = {"llm": {"base_url": "http://10.0.0.5/v1", "model": "a"}}
    same = {"llm": {"base_url": "http://10.0.0.5/v1", "model": "b"}}
    moved = {"connectors": {"llm": {"type": "openai_compatible", "base_url": "http://10.0.0.5/v1"}}}
    assert changed_places(same, old) == []
    assert changed_places(moved, {"connectors": {}}) == [
        UrlPlace("connectors.llm.base_url", "http://10.0.0.5/v1")
    ]


def _models() -> list[tuple[str, type[BaseModel]]]:
    from botfleet.adapters.connectors.policy import ResiliencePolicy

    found = [(f"channel {n}", t.model) for n, t in channel_types().items()]
    found += [(f"connector {n}", t.model) for n, t in connector_types().items()]
    return [*found, ("llm", llm_options_model()), ("resilience", ResiliencePolicy)]


def _names(name: str, alias: object) -> list[str]:
    if isinstance(alias, str):
        return [name, alias]
    if isinstance(alias, AliasChoices):
        return [name, *(c for c in alias.choices if isinstance(c, str))]
    return [name]


@pytest.mark.parametrize(("what", "model"), _models(), ids=[w for w, _ in _models()])
def test_every_url_setting_of_the_binding_models_is_a_url_field(
    what: str, model: type[BaseModel]
) -> None:
    """A new setting the data plane calls must be named so the policy treats it as a URL
    (`url`, ``*_url``, ``*_uri``, `calendar_id`, `endpoint`), under each of its aliases."""
    hints = ("url", "uri", "endpoint", "host", "server", "address")
    for name, info in model.model_fields.items():
        default = info.default if isinstance(info.default, str) else ""
        if any(h in name.lower() for h in hints) or "://" in default:
            for spelling in _names(name, info.validation_alias):
                assert is_url_key(spelling), f"{what}: {spelling!r} holds a URL"


# ---------------------------------------------------------------- the setting


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CP_TENANT_URL_POLICY", "CP_TENANT_URL_DNS_TIMEOUT_S", "CP_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def _settings(**values: object) -> ControlPlaneSettings:
    return ControlPlaneSettings(
        environment="test",
        admin_api_key="a-long-enough-admin-key-123",
        fernet_keys=Fernet.generate_key().decode(),
        **values,  # type: ignore[arg-type]
    )


@pytest.mark.usefixtures("clean_environment")
def test_the_policy_setting_defaults_to_public(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _settings().tenant_url_policy == "public"
    assert _settings().tenant_url_dns_timeout_s == 2.0
    monkeypatch.setenv("CP_TENANT_URL_POLICY", " Any ")
    monkeypatch.setenv("CP_TENANT_URL_DNS_TIMEOUT_S", "0.5")
    assert _settings().tenant_url_policy == "any"
    assert _settings().tenant_url_dns_timeout_s == 0.5
    monkeypatch.setenv("CP_TENANT_URL_POLICY", "private")
    with pytest.raises(ValidationError, match="tenant_url_policy"):
        _settings()
