"""The shared link cache (``linkpatrol.frontier.link_cache``) as a downloader middleware: a check of a
link to another site that some crawl found ok less than LINKPATROL_LINK_CACHE_TTL seconds ago is
decided from that result, without a request (``CachedResult``, which the spider's errback records,
counted ``checked_cache``); a crawl with ``fresh`` asks again. The cache keeps at most
LINKPATROL_LINK_CACHE_MAX entries (the ones written longest ago go first). What a check finds ok is shared on
``item_scraped``. It runs after the host verdicts and before the politeness, so a cached link waits
for nothing."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any, Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from crawler.downloadermiddlewares import CrawlContextMiddleware
from crawler.extensions.frontier import frontier_of
from crawler.frontier.contexts import CrawlContexts
from crawler.items import CheckedLink
from linkpatrol.frontier.link_cache import DEFAULT_MAX, LinkCache, cacheable
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.connection import RedisError

logger = logging.getLogger(__name__)


class CachedResult(IgnoreRequest):
    """A link decided by a result another crawl found (the spider records ``result``)."""

    def __init__(self, result: LinkResult, crawl_id: str, at: float) -> None:
        super().__init__(f"{result.url}: ok, checked by crawl {crawl_id}")
        self.result = result
        self.at = at


def may_use_cache(request: Request, fresh: bool) -> bool:
    """A plain check of another site's link (not a redirect hop, not read for its anchors or as a
    sitemap), in a crawl that does not ask for everything afresh."""
    lp = request.meta.get("lp") or {}
    return bool(lp) and lp["external"] and not lp["anchors"] and not lp["sitemap"] and not fresh and \
        not request.meta.get("redirect_urls")


class LinkCacheMiddleware(CrawlContextMiddleware):
    def __init__(self, contexts: CrawlContexts, cache: LinkCache) -> None:
        super().__init__(contexts)
        self.cache = cache

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ttl = crawler.settings.getint("LINKPATROL_LINK_CACHE_TTL", 21_600)
        if ttl <= 0:
            raise NotConfigured("LINKPATROL_LINK_CACHE_TTL is 0: every link is checked by every crawl")
        frontier = frontier_of(crawler)
        mw = cls(frontier.contexts, LinkCache(frontier.r, frontier.keys, ttl,
                                     crawler.settings.getint("LINKPATROL_LINK_CACHE_MAX", DEFAULT_MAX)))
        crawler.signals.connect(mw.item_scraped, signal=signals.item_scraped)
        return mw

    # Plain methods that return a coroutine only when there is Redis to ask (the downloader's chain and
    # the signal manager await what they get): most requests and items need nothing of the cache, and
    # pay no coroutine for it.
    def process_request(self, request: Request) -> Coroutine[Any, Any, None] | None:
        lp = request.meta.get("lp")
        if not lp:
            return None
        options = self.contexts.options(lp["crawl"])
        if options is None or not may_use_cache(request, options.fresh):
            return None
        return self._look_up(lp)

    async def _look_up(self, lp: dict[str, Any]) -> None:
        try:
            cached = await self.cache.get(lp["url"])
        except (RedisError, OSError) as exc:  # the link is checked
            logger.debug("link cache unavailable for %s: %s", lp["url"], exc)
            return
        if cached is not None:
            raise CachedResult(cached.as_result(), cached.crawl_id, cached.at)  # the result says where from

    def item_scraped(self, item: Any, response: Response | None, spider: Any) -> Coroutine[Any, Any, None] | None:
        """Share a link to another site that a plain check found ok."""
        if not isinstance(item, CheckedLink) or not isinstance(response, Response) or \
                not cacheable(item.result, item.method):
            return None
        lp = response.meta.get("lp")
        if not lp or lp["anchors"] or lp["sitemap"]:
            return None
        return self._share(item)

    async def _share(self, item: CheckedLink) -> None:
        try:
            await self.cache.put(item.result, item.crawl_id)
        except (RedisError, OSError) as exc:
            logger.debug("could not share the result of %s: %s", item.result.url, exc)
