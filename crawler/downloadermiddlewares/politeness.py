"""Politeness shared by every crawler (``linkpatrol.politeness``), as a downloader middleware.

It runs last before the download, so a host's slot is held only while the request is under way. The
crawled site gets the crawl's own limits (``site_concurrency``, ``site_rate``, else the
LINKPATROL_SITE_* defaults); every other host the LINKPATROL_HOST_* ones.
"""

from __future__ import annotations

from typing import Any, Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.downloadermiddlewares.retry_after import retry_after_seconds
from crawler.extensions.frontier import crawler_keys, frontier_of, redis_from_settings
from crawler.frontier.contexts import CrawlContexts
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.urls import host_of
from linkpatrol.politeness import HostGate, Limits

META = "lp_host_slot"


def limits_for(in_site: bool, options: CrawlOptions | None, site: Limits, external: Limits) -> Limits:
    """The limits a request of a crawl gets: the crawl's own towards its site, else the shared ones."""
    if not in_site:
        return external
    conc = options.site_concurrency if options else None
    rate = options.site_rate if options else None
    return Limits(site.concurrency if conc is None else conc, site.rate if rate is None else rate)


class PolitenessMiddleware:
    def __init__(self, gate: HostGate, contexts: CrawlContexts, site: Limits, external: Limits) -> None:
        self.gate = gate
        self.contexts = contexts
        self.site = site
        self.external = external
        self._known: dict[str, Limits] = {}  # host -> limits last applied (for requests without a crawl)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        if not s.getbool("LINKPATROL_POLITENESS_ENABLED", True):
            raise NotConfigured("LINKPATROL_POLITENESS_ENABLED is off")
        contexts = frontier_of(crawler).contexts
        stats = crawler.stats
        assert stats is not None
        gate = HostGate(
            redis_from_settings(s), crawler_keys(crawler),
            max_wait=s.getfloat("LINKPATROL_HOST_WAIT_MAX", 60.0),
            backoff=s.getfloat("LINKPATROL_HOST_BACKOFF", 2.0),
            strikes_at=s.getint("LINKPATROL_HOST_STRIKES", 3),
            refresh=s.getfloat("LINKPATROL_HOST_REFRESH", 5.0),
            lease=s.getfloat("DOWNLOAD_TIMEOUT", 180) + 15,
            count=stats.inc_value,
        )
        mw = cls(gate, contexts,
                 site=Limits(s.getint("LINKPATROL_SITE_CONCURRENCY", 0), s.getfloat("LINKPATROL_SITE_RATE", 0.0)),
                 external=Limits(s.getint("LINKPATROL_HOST_CONCURRENCY", 2), s.getfloat("LINKPATROL_HOST_RATE", 5.0)))
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def _limits(self, request: Request, host: str) -> Limits:
        lp = request.meta.get("lp")
        if not lp:  # robots.txt and the like: whatever applied to the host last
            known = self._known.get(host)
            if known is not None:
                return known
            # Asked before any of a crawl's requests to the host passed here: most often a crawl's
            # own robots.txt, asked by the crawl's first request. It is paced as the site it belongs
            # to (the strictest of the crawls whose site it is), not as another host: a second
            # crawler's first request of a site waited a fifth of a second on the other-host rate.
            sites = self.contexts.sites_of(host)
            if not sites:
                return self.external
            return Limits.strictest(limits_for(True, ctx.options, self.site, self.external) for ctx in sites)
        limits = limits_for(self.contexts.in_scope(lp["crawl"], host), self.contexts.options(lp["crawl"]),
                            self.site, self.external)
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[host] = limits
        return limits

    async def process_request(self, request: Request) -> None:
        host = host_of(request.url)
        if host:
            token = await self.gate.enter(host, self._limits(request, host))
            if token is not None:
                request.meta[META] = token

    async def process_response(self, request: Request, response: Response) -> Response:
        self.gate.leave(request.meta.pop(META, None))
        await self.gate.answered(host_of(request.url), response.status,
                                 retry_after_seconds(response.headers.get(b"Retry-After")))
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self.gate.leave(request.meta.pop(META, None))

    async def spider_closed(self, spider: Any, reason: str) -> None:
        await self.gate.close()
