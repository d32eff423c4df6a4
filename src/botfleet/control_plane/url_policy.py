"""Which hosts a tenant's own API key may point its bindings at (`CP_TENANT_URL_POLICY`).

A binding holds URLs the tenant's data plane calls: the LLM's `base_url`, CalDAV's `url` and
`calendar_id`, Google Calendar's `api_base_url`, WhatsApp's `graph_base_url` and Telegram's
`api_base_url` (both also spelt `base_url`), and, in the credentials, a Google service
account's `token_uri`. In a hosted deployment a tenant that could set them to internal
addresses would make its data plane call the cloud's metadata service (169.254.169.254), the
cluster's services, other tenants' data planes or the control plane itself (server-side
request forgery), from inside the network.

With the policy ``public`` (the default) a change made with a tenant key is refused (422
naming the field) when one of its URLs has a host that is:

- an IP address that is not a public unicast one (loopback, private, link-local, site-local,
  unspecified, shared/CGNAT, multicast, reserved; IPv4-mapped and 6to4/NAT64 IPv6 forms by the
  IPv4 address they carry), or an IPv4 address written in another form than ``a.b.c.d``
  (``2130706433``, ``0x7f.1``, ``0177.0.0.1``: HTTP clients read those differently);
- a name that is internal by its form: ``localhost`` and ``*.localhost``, a single label
  (completed by the data plane's search domains: a cluster service), or one of the private
  zones in `INTERNAL_SUFFIXES` (``.local``, ``.internal``, ``.svc``, ``.cluster.local``...);
- a name that resolves (looked up from the control plane, with a timeout) to any such address,
  that does not resolve, or whose lookup times out: a name the control plane cannot see may
  be one only the data plane's network resolves (split-horizon DNS, a cluster's search
  domains), so the check fails closed. Lookups take turns on the resolver's threads
  (`LOOKUPS_AT_ONCE`, shared by every request and review), and a timeout starts with its
  lookup, not while it waits for a thread (except behind a lookup that timed out: its thread
  stays in ``getaddrinfo``, which cannot be cut short, until the system resolver gives up);
- not parseable, or carrying user information (``public.example@127.0.0.1``);
- holding control characters (a NUL, a tab, a line break...): URL parsers drop them before
  reading (WHATWG URL, Python's `urlsplit` and `urljoin`, httplib2, which Google's token
  refresh uses), so ``"\\x00http://127.0.0.1/"`` or ``"/\\t/10.0.0.5/"`` is an internal URL to
  them, while it did not even look like a URL here.

A value nested deeper than `MAX_URL_DEPTH` (only a JSON text inside a credential can be: a
request body nests no deeper) is refused as a whole, since the URLs in it were not searched.

Which strings are URLs: in any binding field, a string that is one URL (``scheme://...``, no
spaces); in a field named `url`, ``*_url``, ``*_uri``, `calendar_id` or `endpoint`, any string
that starts like one (spaces or tabs in it included) or like a scheme-relative ``//host/...``,
or that holds a control character. Both are read as URL parsers read them, with the control
characters and spaces around a value, and tabs and line breaks within it, left out.
`allowed_origins` and `embed_origins` (web chat) are exempt: browser origins, which the data
plane never calls. A new URL setting of a binding model must be named so (a unit test checks
every model's fields).

The admin key may set anything (the operator is trusted: local fakes in demos and tests), and
a URL a tenant key sends back unchanged in the same place is not checked again (the admin may
have set it). A stored URL a tenant key's change removes or alters (in a binding or in the
credentials) must not be one it positively could not set again
(`TenantUrlGuard.check_removable`): otherwise an update leaving out `llm.base_url` would lose
the operator's internal LLM server for good, as the same key could not send it back. Only what
is known holds it (its form, or a name resolving to an internal address): a name that does not
resolve, or is not looked up in time, may go (a webhook whose domain lapsed must not stay
called). With ``any`` nothing is checked. The check cannot see what the data plane will
resolve later (DNS rebinding) nor where a redirect leads: docs/deployment.md recommends egress
network policies for hosted deployments.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import string
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.json_places import leaves
from botfleet.control_plane.principals import Principal
from botfleet.http_guards import MAX_DEPTH as BODY_MAX_DEPTH

TenantUrlPolicy = Literal["public", "any"]

#: host -> its addresses. Raises `OSError` (``socket.gaierror``) when the name does not resolve.
Resolver = Callable[[str], Awaitable[Sequence[str]]]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: DNS zones that are never the public internet's (RFC 6761, 6762, 8375, ICANN's `.internal`,
#: Kubernetes' `svc` and `cluster.local`) or are commonly private (`lan`, `corp`, `home`...).
INTERNAL_SUFFIXES = (
    "localhost", "localdomain", "local", "internal", "intranet", "private", "lan", "home",
    "corp", "arpa", "svc", "cluster.local", "test", "example", "invalid",
)  # fmt: skip
#: Fields whose value is a URL (or an URL joined to one: CalDAV's `calendar_id`).
_URL_KEYS = frozenset({"url", "calendar_id", "endpoint", "api_endpoint"})
_URL_KEY_ENDINGS = ("_url", "_uri")
#: Fields holding URLs the data plane never calls (web chat's browser origins).
EXEMPT_KEYS = frozenset({"allowed_origins", "embed_origins"})
#: Distinct host names one request may ask the control plane to look up.
MAX_LOOKUPS = 16
#: Lookups run at once, by every request and review together: the system resolver's threads.
#: One more would wait for a thread while its timeout runs, and fail though DNS answers.
LOOKUPS_AT_ONCE = 4
#: Deeper than any request body is let through (`BodyGuard`), so only a JSON text inside a
#: credential can nest past it; what does is refused, not skipped (see `UrlPlace.too_deep`).
MAX_URL_DEPTH = BODY_MAX_DEPTH

_WHOLE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S*$")
#: What URL parsers drop before reading a URL (WHATWG URL; Python's `urlsplit`, hence `urljoin`
#: and httplib2): C0 control characters and spaces around it, tabs and line breaks within it.
_C0_OR_SPACE = "".join(chr(code) for code in range(0x21))
_DROPPED_WITHIN = str.maketrans("", "", "\t\n\r")
#: Control characters, which no URL a data plane should call holds (see `_read_host`).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_URL_START = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_HEX = frozenset(string.hexdigits)
_OCTAL = frozenset(string.octdigits)
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_ADVICE = (
    "a tenant API key may only point a binding at hosts on the public internet "
    "(CP_TENANT_URL_POLICY=public); an operator can set this one with the admin key"
)


def is_url_key(key: str) -> bool:
    """Whether a field of this name holds a URL the data plane calls."""
    key = key.lower()
    return key in _URL_KEYS or key.endswith(_URL_KEY_ENDINGS)


@dataclass(frozen=True, slots=True)
class UrlPlace:
    """A URL found in a binding: where (``connectors.calendar.url``) and what (stripped)."""

    path: str
    url: str
    #: Something nested deeper than `MAX_URL_DEPTH` at `path` (`url` is empty): whatever URLs
    #: it holds were not found, so it is refused as if one were internal.
    too_deep: bool = False


def url_places(where: str, value: object, *, json_strings: bool = False) -> list[UrlPlace]:
    """Every URL in `value` (objects and lists too), with its place under `where`
    (``connectors.llm.replies[1]``: the places of `json_places`).

    With `json_strings` a string holding a JSON object (a service-account key given as text)
    is searched too. A value nested deeper than `MAX_URL_DEPTH` is a `too_deep` place."""
    places = []
    found = leaves(value, where, skip=EXEMPT_KEYS, json_text=json_strings, max_depth=MAX_URL_DEPTH)
    for leaf in found:
        if leaf.too_deep:
            places.append(UrlPlace(leaf.place, "", too_deep=True))
            continue
        if leaf.is_key or not isinstance(leaf.value, str):
            continue
        text = leaf.value.strip()
        # Judged as a URL parser reads it: "\x00//10.0.0.5/" is "//10.0.0.5/" to `urljoin`.
        read = text.translate(_DROPPED_WITHIN).strip(_C0_OR_SPACE)
        url_field = leaf.key is not None and is_url_key(leaf.key)
        if _WHOLE_URL.match(read) or (
            url_field and (_URL_START.match(read) or _CONTROL.search(text))
        ):
            places.append(UrlPlace(leaf.place, text))
    return places


# ---------------------------------------------------------------- hosts and addresses


def address_problem(address: IPAddress) -> str | None:
    """Why a tenant may not reach `address` (``"a loopback address"``), or None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = _carried_ipv4(address)
        if carried is not None:
            problem = address_problem(carried)
            return None if problem is None else f"{problem}, carried in an IPv6 address"
    if address.is_unspecified:
        return "the unspecified address (0.0.0.0 or ::), which reaches the host itself"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    # fec0::/10: deprecated, yet still routed inside some networks, and neither private nor
    # reserved to `ipaddress` (so `is_global` holds)
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local IPv6 address (fec0::/10), private to a network"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a shared (carrier-grade NAT) address, used for clouds' internal services"
    if address.is_reserved:
        return "a reserved address, not on the public internet"
    if address.is_private:
        return "a private-network address"
    if not address.is_global:
        return "an address that is not on the public internet"
    return None


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, 6to4 or NAT64 IPv6 address leads to."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _ipv4_number(part: str) -> int | None:
    """One part of an IPv4 address as URL parsers read it: ``0x..`` hex, ``0..`` octal."""
    if part[:2].lower() == "0x":
        digits = part[2:]
        return int(digits or "0", 16) if set(digits) <= _HEX else None
    if not (part.isascii() and part.isdigit()):
        return None
    if len(part) > 1 and part[0] == "0":
        return int(part, 8) if set(part) <= _OCTAL else None
    return int(part)


def _ends_in_number(labels: list[str]) -> bool:
    last = labels[-1]
    return (last.isascii() and last.isdigit()) or (
        last[:2].lower() == "0x" and set(last[2:]) <= _HEX
    )


def _parse_ipv4(labels: list[str]) -> ipaddress.IPv4Address | None:
    """The address a host ending in a number stands for (WHATWG URL's IPv4 parser, which is
    also glibc's `inet_aton`: 1 to 4 parts, the last filling the remaining bytes)."""
    if len(labels) > 4:
        return None
    numbers = [_ipv4_number(label) for label in labels]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    total = values[-1] + sum(n << (8 * (3 - i)) for i, n in enumerate(values[:-1]))
    return ipaddress.IPv4Address(total)


@dataclass(frozen=True, slots=True)
class _Host:
    """A URL's host once read: refused already (`problem`), or a name to look up (`name`)."""

    problem: str | None = None
    name: str | None = None


def _read_host(url: str) -> _Host:
    """What the URL's host is, as far as can be told without DNS."""
    url = url.strip()
    if _CONTROL.search(url):
        # Clients differ on them (`urlsplit` drops a leading NUL and any tab, httpx refuses
        # both): which host a client reaches cannot be told, so none is accepted.
        return _Host(
            "cannot be told: the URL holds control characters (a NUL, a tab, a line break...), "
            "which URL clients drop or read differently; write it without them"
        )
    try:
        parts = urlsplit(url if "://" in url else f"http:{url}")
        netloc = parts.netloc
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return _Host("cannot be read as a URL")
    if "@" in netloc:
        return _Host("carries user information (user@host), which hides the real host")
    if not host:
        return _Host("has no host name")
    if netloc.lstrip().startswith("["):
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            return _Host("is not a valid IPv6 address")
        return _Host(_is(address_problem(address)))
    return _read_name(host)


def _read_name(host: str) -> _Host:
    """A host that is not in brackets: a name, or an IPv4 address in one of its forms."""
    if not host.isascii():
        try:  # IDNA folds look-alikes (full-width letters and dots) to the name a client uses
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return _Host("is not a valid host name")
    labels = host.removesuffix(".").split(".")
    if not all(_LABEL.match(label) for label in labels) or len(host) > 253:
        return _Host("is not a valid host name")
    if _ends_in_number(labels):
        return _read_ipv4(labels)
    name = ".".join(labels)
    if name == "localhost" or name.endswith(".localhost"):
        return _Host("is localhost")
    if len(labels) == 1:
        return _Host(
            "is a single-label name, which the data plane's resolver completes with its own "
            "search domains (a cluster service, say)"
        )
    for suffix in INTERNAL_SUFFIXES:
        if name.endswith(f".{suffix}"):
            return _Host(f"is in .{suffix}, a DNS zone that is not the public internet's")
    return _Host(name=host)


def _read_ipv4(labels: list[str]) -> _Host:
    address = _parse_ipv4(labels)
    if address is None:
        return _Host("is not a valid IPv4 address")
    problem = address_problem(address)
    if problem is None and str(address) != ".".join(labels):
        return _Host(
            "is an IPv4 address written in another form than four decimal numbers "
            "(a.b.c.d), which HTTP clients read differently: write it as a.b.c.d"
        )
    return _Host(_is(problem))


def _is(problem: str | None) -> str | None:
    return None if problem is None else f"is {problem}"


# ---------------------------------------------------------------- DNS


class SystemResolver:
    """The host's resolver (``getaddrinfo``) on a small pool of its own threads, so slow
    lookups never take the threads the rest of the control plane works on. `close()` it."""

    def __init__(self, max_workers: int = LOOKUPS_AT_ONCE) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="cp-dns")

    async def __call__(self, host: str) -> Sequence[str]:
        loop = asyncio.get_running_loop()
        infos = await loop.run_in_executor(
            self._pool, lambda: socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        )
        return [str(info[4][0]) for info in infos]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class _Refusal:
    """Why a looked-up name is refused, and whether it is known to be internal (`resolved`:
    it resolved to an address a tenant may not reach) or only could not be checked (it does
    not resolve, the lookup timed out, the resolver was busy)."""

    why: str
    resolved: bool = False


async def _lookup(resolve: Resolver, name: str, timeout_s: float) -> _Refusal | None:
    """Why `name` is refused after looking it up, or None when every address is public."""
    try:
        found = await asyncio.wait_for(resolve(name), timeout_s)
    except TimeoutError:
        return _Refusal(
            f"could not be checked: looking it up took longer than {timeout_s:g}s (try again)"
        )
    except (OSError, UnicodeError):
        return _Refusal(
            "does not resolve from the control plane, so it cannot be checked (a name only "
            "the data plane's network resolves may be an internal one)"
        )
    if not found:
        return _Refusal("does not resolve from the control plane, so it cannot be checked")
    for text in found:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            return _Refusal("resolves to something that is not an IP address")
        problem = address_problem(address)
        if problem is not None:
            return _Refusal(f"resolves to {problem}", resolved=True)
    return None


# ---------------------------------------------------------------- the guard


#: Why a `too_deep` place is refused.
_TOO_DEEP = f"nests deeper than {MAX_URL_DEPTH} levels, too deep for the URLs in it to be checked"


@dataclass(frozen=True, slots=True)
class TenantUrlGuard:
    """Enforces `CP_TENANT_URL_POLICY` on what a tenant key sends (see the module doc)."""

    policy: TenantUrlPolicy = "public"
    #: Looks host names up; None: no names can be checked (every one is refused).
    resolve: Resolver | None = None
    #: How long one lookup may take, from when it starts (not from when it was asked for).
    timeout_s: float = 2.0
    #: Lookups run at once by every check and review together (the resolver's threads).
    lookups_at_once: int = LOOKUPS_AT_ONCE
    _turns: asyncio.Semaphore = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_turns", asyncio.Semaphore(self.lookups_at_once))

    @property
    def turn_wait_s(self) -> float:
        """How long a change's lookup waits for its turn: as long as the most lookups one
        change may ask for take, one turn after the other, each timing out. Longer, and other
        requests keep the resolver busy: refused (try again) rather than held."""
        rounds = -(-MAX_LOOKUPS // self.lookups_at_once)
        return self.timeout_s * rounds

    def applies_to(self, principal: Principal) -> bool:
        return self.policy == "public" and not principal.is_admin

    async def check(
        self, places: Iterable[UrlPlace], *, passed: frozenset[UrlPlace] = frozenset()
    ) -> frozenset[UrlPlace]:
        """Refuse the first place whose host is not public, or that nests too deep to be
        searched (`InvalidInput` naming it; the message never repeats the URL). Places in
        `passed` are not checked again. Returns the places that passed, `passed` included."""
        todo = [p for p in dict.fromkeys(places) if p not in passed]
        refused = await self._first_refused(todo)
        if refused is not None:
            place, why = refused
            raise InvalidInput(place.path, f"{why}; {_ADVICE}")
        return passed | frozenset(todo)

    async def check_removable(
        self,
        places: Iterable[UrlPlace],
        *,
        passed: frozenset[UrlPlace] = frozenset(),
        keep: str = "send it unchanged to keep it",
    ) -> frozenset[UrlPlace]:
        """Refuse (`InvalidInput` naming it, never the URL) the first stored place a change
        would remove or alter whose URL this key positively could not send now: the key could
        never put it back, and the tenant would wait for an operator. `keep` says how the
        tenant keeps it instead. Places in `passed` are not checked again. Returns the places
        that passed, `passed` included.

        Only what is known refuses: the URL's form (a loopback or private address, an internal
        name...), or a name that resolves to such an address. A name that does not resolve,
        whose lookup times out or waits too long for a turn, or beyond the `MAX_LOOKUPS` one
        change may look up, passes: refusing it would keep a tenant calling a webhook whose
        domain lapsed, or hold it to the resolver's weather, and what removing a URL risks is
        only the tenant's own binding."""
        todo = [p for p in dict.fromkeys(places) if p not in passed]
        refused = await self._first_refused(todo, known_only=True)
        if refused is not None:
            place, why = refused
            raise InvalidInput(
                place.path,
                f"holds a URL this API key could not set again ({why}; "
                f"CP_TENANT_URL_POLICY=public): {keep}; removing or "
                "changing it needs the admin API key (ask an operator)",
            )
        return passed | frozenset(todo)

    async def _first_refused(
        self, todo: Sequence[UrlPlace], *, known_only: bool = False
    ) -> tuple[UrlPlace, str] | None:
        """The first of `todo` the ``public`` rules refuse, with why (``the URL's host is a
        loopback address``), or None. Names are looked up, in turn with other lookups. With
        `known_only` a name is refused only when it resolves to an address that is not
        public, and past `MAX_LOOKUPS` names the rest are not looked up (see
        `check_removable`)."""
        for place in todo:
            if place.too_deep:
                return place, _TOO_DEEP
        hosts = {place: _read_host(place.url) for place in todo}
        for place, host in hosts.items():
            if host.problem is not None:
                return place, f"the URL's host {host.problem}"
        names = sorted({host.name for host in hosts.values() if host.name is not None})
        if len(names) > MAX_LOOKUPS:
            if not known_only:
                raise InvalidInput(
                    todo[0].path.split(".", 1)[0],
                    f"names {len(names)} different hosts; at most {MAX_LOOKUPS} can be "
                    "checked in one change",
                )
            names = names[:MAX_LOOKUPS]
        if names:
            verdicts = await asyncio.gather(
                *(self._lookup(name, wait_s=self.turn_wait_s) for name in names)
            )
            found = dict(zip(names, verdicts, strict=True))
            for place, host in hosts.items():
                refusal = found.get(host.name) if host.name is not None else None
                if refusal is not None and (refusal.resolved or not known_only):
                    return place, f"the URL's host {refusal.why}"
        return None

    async def review(
        self, places: Iterable[UrlPlace], *, look_up: bool = True
    ) -> dict[UrlPlace, str]:
        """Every place the ``public`` rules refuse, whatever `policy` says, with why (``the
        URL's host is a loopback address``: never the URL): for what is stored already, which
        a change of the policy does not re-check. Each distinct name is looked up once, in
        turn with every other lookup (`lookups_at_once`). With `look_up` False no name is
        looked up: only what a URL's form tells (IP addresses, internal names) is refused."""
        unique = list(dict.fromkeys(places))
        refused = {place: _TOO_DEEP for place in unique if place.too_deep}
        hosts = {place: _read_host(place.url) for place in unique if not place.too_deep}
        names = sorted({host.name for host in hosts.values() if host.name is not None})
        verdicts: dict[str, _Refusal | None] = {}
        if look_up and names:
            found = await asyncio.gather(*(self._lookup(name) for name in names))
            verdicts = dict(zip(names, found, strict=True))
        for place, host in hosts.items():
            refusal = verdicts.get(host.name) if host.name is not None else None
            why = host.problem or (refusal.why if refusal is not None else None)
            if why is not None:
                refused[place] = f"the URL's host {why}"
        return refused

    async def _lookup(self, name: str, *, wait_s: float | None = None) -> _Refusal | None:
        """`_lookup` once a turn is free: the timeout starts with the lookup, not while it
        waits for one of the resolver's threads. `wait_s`: how long to wait for the turn."""
        if self.resolve is None:
            return _Refusal("cannot be checked: the control plane has no resolver")
        try:
            await asyncio.wait_for(self._turns.acquire(), wait_s)
        except TimeoutError:
            return _Refusal(
                "could not be checked: the control plane is busy looking up other names (try again)"
            )
        try:
            return await _lookup(self.resolve, name, self.timeout_s)
        finally:
            self._turns.release()


def changed_places(new: Mapping[str, object], old: Mapping[str, object]) -> list[UrlPlace]:
    """The URLs of the bindings in `new` (``{"channel": ..., "connectors": ..., "llm": ...}``)
    that `old` does not hold at the same place (a URL sent back unchanged passes)."""
    kept = {place for field_name, value in old.items() for place in url_places(field_name, value)}
    return [
        place
        for field_name, value in new.items()
        for place in url_places(field_name, value)
        # What nests too deep was not compared: sent back unchanged or not, it is refused.
        if place.too_deep or place not in kept
    ]


def removed_places(new: Mapping[str, object], old: Mapping[str, object]) -> list[UrlPlace]:
    """The URLs of the bindings in `old` that `new` (the same fields as a change leaves them)
    no longer holds at the same place: removed, or changed to another URL."""
    return changed_places(old, new)
