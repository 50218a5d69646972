"""Downloader middlewares that make Scrapy behave like a link checker."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.http import Response

from crawler.status import CancelledCrawl, RedirectLoop, TooManyRedirects

logger = logging.getLogger(__name__)

# HEAD answers after which a GET is tried: servers that refuse or mishandle HEAD say one of these.
HEAD_FALLBACK_STATUSES = frozenset({400, 403, 404, 405, 406, 409, 410, 416, 500, 501, 502})


class CancelledCrawlMiddleware:
    """Drops requests of crawls that were cancelled or deleted, so cancel stops a crawl fast."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        lp = request.meta.get("lp")
        spider: Any = self.crawler.spider
        if lp and spider is not None and not spider.feeder.is_active(lp["crawl"]):
            raise CancelledCrawl(f"crawl {lp['crawl']} is no longer running")


class HeadFallbackMiddleware:
    """Retries a refused or mishandled HEAD as a GET (the body is cut short by the spider)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.method == "HEAD" and response.status in HEAD_FALLBACK_STATUSES:
            meta = dict(request.meta)
            meta["lp_head_status"] = response.status
            return request.replace(method="GET", meta=meta, dont_filter=True)
        return response


def retry_after_seconds(value: bytes | None, now: float | None = None) -> float | None:
    """Parse a Retry-After header: delta seconds or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class RetryAfterMiddleware:
    """Retries 429 and 503 answers after the wait the server asks for (bounded), then lets the answer
    through, marked so the spider reports the link as rate limited rather than dead."""

    def __init__(self, retries: int, max_wait: float, default_wait: float) -> None:
        self.retries = retries
        self.max_wait = max_wait
        self.default_wait = default_wait

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        return cls(
            s.getint("LINKPATROL_RATE_LIMIT_RETRIES"),
            s.getfloat("LINKPATROL_RETRY_AFTER_MAX"),
            s.getfloat("LINKPATROL_RETRY_AFTER_DEFAULT"),
        )

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in (429, 503):
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait is not None:
            request.meta["lp_retry_after"] = True
        tries = request.meta.get("lp_rate_retries", 0)
        if tries >= self.retries:
            return response
        delay = min(self.max_wait, wait if wait is not None else self.default_wait)
        logger.debug("%s answered %s; retrying in %.1fs", request.url, response.status, delay)
        await asyncio.sleep(delay)
        meta = dict(request.meta)
        meta["lp_rate_retries"] = tries + 1
        return request.replace(meta=meta, dont_filter=True)


class LinkRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirect handling, with loops and over-long chains told apart for the report."""

    def handle_referer(self, request: Request, response: Response) -> None:
        """A link checker sends no Referer: the pages it reads are not the visitor's business."""
        request.headers.pop("Referer", None)

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url.split("#", 1)[0] in {u.split("#", 1)[0] for u in chain}:
            raise RedirectLoop(f"redirect loop back to {redirected.url}")
        if request.meta.get("redirect_times", 0) + 1 > self.max_redirect_times:
            raise TooManyRedirects(f"more than {self.max_redirect_times} redirects")
        return super()._redirect(redirected, request, reason)


