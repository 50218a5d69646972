"""A downloader middleware that refuses requests to hosts resolving to addresses the policy does not
allow (see ``linkpatrol.model.addresses``): the crawler-side server-side request forgery guard.

It runs early (before robots.txt, redirects and retries) and on every request, so a redirect hop,
which Scrapy sends through ``process_request`` again, is checked too. Names are resolved with the
event loop's ``getaddrinfo`` (a thread, never blocking the reactor) and cached for a short while.
A name that does not resolve passes through: the download then fails with the usual "dns" error.

The residual risk is DNS rebinding between this lookup and Scrapy's own; the short cache and a resolver
that honours low TTLs keep that window small. Run crawlers in a network that cannot reach internal
services for defence in depth.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from typing import Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.failures import NotAllowedAddress
from linkpatrol.model.addresses import LOCAL_NAMES, AddressPolicy

logger = logging.getLogger(__name__)


class AddressGuardMiddleware:
    def __init__(self, crawler: Crawler, policy: AddressPolicy, ttl: float = 60.0, max_entries: int = 10_000) -> None:
        self.crawler = crawler
        self.policy = policy
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, bool]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        policy = AddressPolicy.from_env()
        if not policy.enabled:
            raise NotConfigured("LINKPATROL_ALLOW_PRIVATE is set: every address may be fetched")
        return cls(crawler, policy)

    async def process_request(self, request: Request) -> None:
        host = (urlsplit(request.url).hostname or "").rstrip(".").lower()
        if not host:
            return
        if not await self.host_allowed(host):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("linkpatrol/ssrf/refused")
            logger.info("not fetching %s: %s resolves to an address that is not allowed", request.url, host)
            raise NotAllowedAddress(f"{host} resolves to an address that is not allowed")

    async def host_allowed(self, host: str) -> bool:
        try:
            return self.policy.allows(ipaddress.ip_address(host))
        except ValueError:
            pass  # a name, not a literal
        if host in LOCAL_NAMES or host.endswith(".localhost"):
            return not self.policy.refuses_host(host)
        now = time.monotonic()
        cached = self._cache.get(host)
        if cached and cached[0] > now:
            return cached[1]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError):
            return True  # unresolvable: the download reports "dns"
        allowed = self.policy.allows_all(str(info[4][0]).split("%", 1)[0] for info in infos)
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[host] = (now + self.ttl, allowed)
        return allowed
