"""How many messages one visitor's address may send to the web chat: a token bucket per address.

The web chat is open to anyone on the internet, under any contact id they choose: without a
limit, one script could fill the state file with conversations and spend the tenant's monthly
LLM quota in minutes, for every other visitor too. `POST /inbound` is refused with 429 and
`Retry-After` once an address has sent `burst` messages faster than `per_minute`; the message is
not stored, so sending it again later (the page does) loses nothing.

Whose address: the client's, as uvicorn settled it (`scope["client"]`). Behind a reverse proxy
uvicorn trusts (`FORWARDED_ALLOW_IPS`; 127.0.0.1 by default) that is the visitor's, from the
proxy's `X-Forwarded-For`; a header from anyone else is ignored, so a client cannot pick its
own bucket or spend another's. Behind a proxy uvicorn does not trust, every visitor has the
proxy's address and shares its bucket: the first such request is logged
(`webchat_proxy_not_trusted`) so the operator sets `FORWARDED_ALLOW_IPS`. IPv6 addresses count
by their /64 (one host commonly has the whole prefix); an IPv4 address written as IPv6
(`::ffff:203.0.113.7`) as the IPv4 one. Clients on this machine that no proxy forwarded (tools,
checks, benchmarks) are not limited; a request on loopback that carries a forwarding header
came through a proxy, and is.

Hand-written: the limiters for ASGI (slowapi and others) key by route and store in Redis or
memory without these address rules, and a bucket is a few lines.
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import structlog

from botfleet.http_guards import FORWARDING_HEADERS, ASGIApp, Receive, Scope, Send, header

log = structlog.get_logger("botfleet.channels.webchat")

#: Addresses remembered; the least recently seen are forgotten first (their buckets were full
#: again long ago, unless under a flood from more addresses than this).
MAX_ADDRESSES = 20_000
#: At most one `webchat_rate_limited` line per this many seconds (a flood is one event).
LOG_EVERY_S = 60.0
_LOCAL = "local"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


def address_key(scope: Scope) -> str:
    """The bucket of the request's sender (see the module's docstring); `"local"` for a client
    on this machine that no proxy forwarded."""
    client = scope.get("client")
    key, loopback = _network(client[0] if client else "")
    if loopback and not forwarded(scope):
        return _LOCAL
    return key


def forwarded(scope: Scope) -> bool:
    """Whether a proxy forwarded the request (one of its headers is there)."""
    return any(name in _FORWARDING for name, _ in scope.get("headers", ()))


_FORWARDING = frozenset(name.encode() for name in FORWARDING_HEADERS)


# Memoised: parsing an address costs microseconds, on every turn of every web chat visitor.
@lru_cache(maxsize=4096)
def _network(host: str) -> tuple[str, bool]:
    """(bucket key, is loopback) of a client address; hosts that are not IP addresses (a Unix
    socket's path, "localhost") are cut to a bounded key."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64], host in ("", "localhost")
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False)), address.is_loopback
    return str(address), address.is_loopback


class MessageRateLimit:
    """ASGI middleware: refuse `POST` to `path` beyond `per_minute` per address (429).

    Args:
        app: The app (the body guard and everything inside it).
        path: The web chat's `POST /inbound` path.
        per_minute: Messages each address may send per minute, on average.
        burst: Messages an address may send at once before the rate applies.
        on_refused: Called for each refused message (a metric).
        clock: Monotonic seconds (tests).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        per_minute: int,
        burst: int,
        on_refused: Callable[[], object] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.path = path
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        self.on_refused = on_refused
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._refused_since_log = 0
        self._logged_at = -math.inf
        self._proxy_warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "POST":
            key = address_key(scope)
            if not self._proxy_warned and key != _LOCAL:
                self._warn_if_proxy_not_trusted(scope)
            if key != _LOCAL:
                wait = self._take(key)
                if wait > 0:
                    await self._refuse(send, wait)
                    return
        await self.app(scope, receive, send)

    def _warn_if_proxy_not_trusted(self, scope: Scope) -> None:
        """Once: a request whose `X-Forwarded-For` uvicorn did not apply (its last hop is not the
        client uvicorn gives) came through a proxy it does not trust, whose visitors all share
        one bucket; or from a client forging the header, which changes nothing."""
        chain = header(scope, b"x-forwarded-for")
        client = scope.get("client")
        if chain is None or not client:
            return
        if chain.rsplit(",", 1)[-1].strip() != client[0]:
            self._proxy_warned = True
            log.warning(
                "webchat_proxy_not_trusted",
                detail="a message came with X-Forwarded-For from a client uvicorn does not "
                "trust as a proxy: behind a reverse proxy, list it in FORWARDED_ALLOW_IPS, or "
                "every visitor shares the proxy's message limit",
            )

    def _take(self, key: str) -> float:
        """Spend one message of `key`'s bucket: 0, or the seconds until one is available."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
            if len(self._buckets) > MAX_ADDRESSES:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    async def _refuse(self, send: Send, wait: float) -> None:
        self.on_refused()
        self._refused_since_log += 1
        now = self.clock()
        if now - self._logged_at >= LOG_EVERY_S:
            # Never the address: it is a visitor's personal data, and the count tells the story.
            log.warning(
                "webchat_rate_limited",
                refused=self._refused_since_log,
                per_minute=round(self.rate * 60),
                burst=int(self.burst),
            )
            self._logged_at, self._refused_since_log = now, 0
        seconds = max(1, math.ceil(wait))
        body = json.dumps(
            {"detail": f"too many messages from your address: send again in {seconds} s"}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(seconds).encode()),
            (b"connection", b"close"),  # the body was not read: not worth reading
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
