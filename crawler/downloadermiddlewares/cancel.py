"""Drops requests of crawls that were cancelled or deleted, so cancel stops a crawl fast."""

from __future__ import annotations

from scrapy import Request

from crawler.downloadermiddlewares import CrawlContextMiddleware
from crawler.failures import CancelledCrawl
from crawler.frontier.contexts import CrawlContexts


def cancelled_crawl(request: Request, contexts: CrawlContexts) -> str | None:
    """The id of the crawl ``request`` belongs to when that crawl is no longer running."""
    lp = request.meta.get("lp")
    if lp and not contexts.is_active(lp["crawl"]):
        return str(lp["crawl"])
    return None


class CancelledCrawlMiddleware(CrawlContextMiddleware):
    def process_request(self, request: Request) -> None:
        crawl_id = cancelled_crawl(request, self.contexts)
        if crawl_id is not None:
            raise CancelledCrawl(f"crawl {crawl_id} is no longer running")
