"""A downloader middleware that refuses requests to hosts the address policy does not allow (see
``linkpatrol.model.addresses``): the early half of the crawler's server-side request forgery guard.

The guard that holds is the download handler's resolver (``crawler.download.resolver``): it resolves a
name once, refuses it unless every address is allowed, and the connection goes only to those
addresses, so a name rebound between two lookups (DNS rebinding) cannot reach a private address. This
middleware asks that same resolver (one per crawler process, its cache shared), early: before
robots.txt, the politeness slots and the retries, so a refused url costs no robots.txt request and no
wait, and is counted (``linkpatrol/ssrf/refused``) and logged once. It runs on every request, a
redirect hop too (Scrapy sends it through ``process_request`` again). A name that does not resolve
passes: the download then fails with the usual "dns" error.

Run crawlers in a network that cannot reach internal services for defence in depth.
"""

from __future__ import annotations

import logging
from typing import Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.download.resolver import GuardedResolver, resolver_of
from crawler.failures import NotAllowedAddress
from linkpatrol.model.addresses import AddressPolicy

logger = logging.getLogger(__name__)


class AddressGuardMiddleware:
    def __init__(self, crawler: Crawler, policy: AddressPolicy, resolver: GuardedResolver | None = None) -> None:
        self.crawler = crawler
        self.resolver = resolver or GuardedResolver(policy)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        resolver = resolver_of(crawler)
        if not resolver.policy.enabled:
            raise NotConfigured("LINKPATROL_ALLOW_PRIVATE is set: every address may be fetched")
        return cls(crawler, resolver.policy, resolver)

    async def process_request(self, request: Request) -> None:
        host = (urlsplit(request.url).hostname or "").rstrip(".").lower()
        if not host:
            return
        if not await self.resolver.host_allowed(host):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("linkpatrol/ssrf/refused")
            logger.info("not fetching %s: %s resolves to an address that is not allowed", request.url, host)
            raise NotAllowedAddress(f"{host} resolves to an address that is not allowed")
