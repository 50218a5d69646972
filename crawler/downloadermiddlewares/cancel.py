"""Drops requests of crawls that were cancelled or deleted, so cancel stops a crawl fast."""

from __future__ import annotations

from scrapy import Request

from crawler.downloadermiddlewares import FrontierMiddleware
from crawler.extensions.frontier import FrontierExtension
from crawler.failures import CancelledCrawl


def cancelled_crawl(request: Request, frontier: FrontierExtension) -> str | None:
    """The id of the crawl ``request`` belongs to when that crawl is no longer running."""
    lp = request.meta.get("lp")
    if lp and not frontier.is_active(lp["crawl"]):
        return str(lp["crawl"])
    return None


class CancelledCrawlMiddleware(FrontierMiddleware):
    def process_request(self, request: Request) -> None:
        crawl_id = cancelled_crawl(request, self.frontier)
        if crawl_id is not None:
            raise CancelledCrawl(f"crawl {crawl_id} is no longer running")
