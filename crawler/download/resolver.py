"""Names to addresses for the download handler, with the address policy applied where the connection is
made: the crawler's guard against server-side request forgery at connect time.

``GuardedResolver`` is the aiohttp resolver of ``crawler.download.handler``: the loop's ``getaddrinfo``
(IPv4 and IPv6), each name's answer kept ``ttl`` seconds and looked up once however many requests
wait for it. A name some of whose addresses ``AddressPolicy`` refuses raises ``NotAllowedAddress``
(``address-not-allowed``), and the connector connects only to the addresses returned, all of them
checked: a name rebound between a check and the connection (DNS rebinding) cannot slip through. IP
literals never reach a resolver (aiohttp connects to them at once): ``check_host`` judges them, and
the handler calls it first.

One resolver per crawler process (``resolver_of``): the address guard middleware asks the same one
before robots.txt and politeness (``host_allowed``), so a name is looked up once for both.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import weakref
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

from crawler.failures import NotAllowedAddress
from linkpatrol.model.addresses import LOCAL_NAMES, AddressPolicy

# (family, address) pairs a name resolves to
Addresses = tuple[tuple[int, str], ...]
_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class GuardedResolver(AbstractResolver):
    def __init__(self, policy: AddressPolicy, ttl: float = 60.0, max_entries: int = 10_000) -> None:
        self.policy = policy
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, Addresses]] = {}
        self._pending: dict[str, asyncio.Future[Addresses]] = {}

    # -- the policy ----------------------------------------------------------------------------------
    def check_host(self, host: str) -> None:
        """Refuse, without DNS, an IP literal (in any IPv4 form) or a local name the policy refuses."""
        if self.policy.refuses_host(host):
            raise NotAllowedAddress(f"{host} is an address that is not allowed")

    async def host_allowed(self, host: str) -> bool:
        """Whether a request to ``host`` may be made, as the connection will judge it. A name that does
        not resolve is allowed: its download then fails as ``dns``."""
        host = host.strip("[]").rstrip(".").lower()
        if self.policy.refuses_host(host):
            return False
        if not self.policy.enabled or _is_literal(host) or is_local_name(host):
            return True
        try:
            found = await self.addresses(host)
        except OSError:
            return True
        return self.policy.allows_all(address for _, address in found)

    # -- aiohttp's resolver --------------------------------------------------------------------------
    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_UNSPEC) -> list[ResolveResult]:
        name = host.rstrip(".").lower()
        self.check_host(name)  # "localhost" and its kin are refused before any lookup
        if self.policy.enabled and is_local_name(name):
            found: Addresses = ((socket.AF_INET, "127.0.0.1"),)  # what the policy judged them as
        else:
            found = await self.addresses(name)  # a failure (socket.gaierror) is aiohttp's "dns" error
        if not self.policy.allows_all(address for _, address in found):
            raise NotAllowedAddress(f"{name} resolves to an address that is not allowed")
        return [ResolveResult(hostname=host, host=address, port=port, family=fam, proto=socket.IPPROTO_TCP,
                              flags=_NUMERIC)
                for fam, address in found if family in (socket.AF_UNSPEC, fam)]

    async def close(self) -> None:
        for pending in self._pending.values():
            pending.cancel()

    # -- the cache -----------------------------------------------------------------------------------
    async def addresses(self, name: str) -> Addresses:
        """What ``name`` resolves to, from the cache while it is fresh; concurrent askers share one lookup.
        Raises what ``getaddrinfo`` raises (failures are not kept)."""
        cached = self._cache.get(name)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        pending = self._pending.get(name)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(name))
            self._pending[name] = pending
            pending.add_done_callback(lambda done: self._settle(name, done))
        # shielded: one asker giving up (its download timed out) does not cancel the others' lookup
        return await asyncio.shield(pending)

    async def _lookup(self, name: str) -> Addresses:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except UnicodeError as exc:  # a label IDNA cannot encode: no name to look up
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: {exc}") from None
        found: dict[tuple[int, str], None] = {}  # in getaddrinfo's order, once each
        for fam, _, _, _, sockaddr in infos:
            if fam in (socket.AF_INET, socket.AF_INET6):
                found[(int(fam), str(sockaddr[0]).split("%", 1)[0])] = None
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, f"{name} has no IPv4 or IPv6 address")
        return tuple(found)

    def _settle(self, name: str, done: asyncio.Future[Addresses]) -> None:
        if self._pending.get(name) is done:
            del self._pending[name]
        if done.cancelled() or done.exception() is not None:  # retrieved: no "never retrieved" warning
            return
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[name] = (time.monotonic() + self.ttl, done.result())


def is_local_name(host: str) -> bool:
    """``localhost`` and its kin (``LOCAL_NAMES``, ``*.localhost``): the policy judges them as 127.0.0.1."""
    return host in LOCAL_NAMES or host.endswith(".localhost")


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


_RESOLVERS: weakref.WeakKeyDictionary[Any, GuardedResolver] = weakref.WeakKeyDictionary()


def resolver_of(crawler: Any) -> GuardedResolver:
    """The crawler's one resolver (its policy read from the environment, ``AddressPolicy.from_env``):
    the download handlers for http and https and the address guard share its cache."""
    resolver = _RESOLVERS.get(crawler)
    if resolver is None:
        resolver = _RESOLVERS[crawler] = GuardedResolver(AddressPolicy.from_env())
    return resolver
