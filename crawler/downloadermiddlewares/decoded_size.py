"""The crawl's size cap counts decoded bytes: a compressed answer is decoded up to ``max_page_size``.

1 GB of zeros gzip-encoded weighs 1 MB on the wire: with the cap counted on the wire only, it passed
a 32 MB cap and Scrapy's HttpCompressionMiddleware decoded it whole (up to DOWNLOAD_MAXSIZE, 1 GB), a
crawler holding gigabytes. This is that middleware (gzip, deflate, br, zstd, nested ones each step
capped), given the request's cap through the ``download_maxsize`` meta it reads.

A crawl's request carries the meta only while its answer is decoded: Scrapy's download handler reads
the same key, and would cancel a page whose Content-Length passes the cap instead of keeping its
first part, as the spider does (it stops reading at the cap). Requests of no crawl (robots.txt, the
sitemap probe) are never parsed in part: they carry the crawler's default cap from the start, on the
wire and decoded alike.

Past the cap Scrapy raises IgnoreRequest from a traceback whose frames hold the part decoded so far
(32 MB): the failure travels to the errback and lives until the garbage collector finds its cycles,
so a few bombs at once held hundreds of MB. It is replaced by ``DecodedTooLarge``, raised afresh.

The cap bounds each answer, not what the crawler holds at once: an answer of a crawl is decoded and
parsed only once it fits in the crawler's parse budget (``crawler.parse_budget``), waiting here,
still compressed, while others are parsed. The politeness slot was given back before (its
middleware sits closer to the download). robots.txt and the sitemap probe do not wait: a callback
holding part of the budget may await them.
"""

from __future__ import annotations

from typing import Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from crawler.extensions.frontier import frontier_of
from crawler.failures import DecodedTooLarge
from crawler.frontier.contexts import MB, CrawlContexts
from crawler.parse_budget import HOLD, ParseBudget

MAXSIZE = "download_maxsize"


def decoded_cap(request: Request, contexts: CrawlContexts) -> int:
    """The most bytes an answer to ``request`` may decode to: its crawl's ``max_page_size`` (the cap
    the spider stops reading at), else the crawler's default (LINKPATROL_MAX_PAGE_SIZE). Never 0,
    which Scrapy reads as no limit."""
    lp = request.meta.get("lp")
    ctx = contexts.get(lp["crawl"]) if lp else None
    return max(ctx.max_page_bytes if ctx is not None else contexts.default_page_mb * MB, 1)


class DecodedSizeMiddleware(HttpCompressionMiddleware):
    def __init__(self, crawler: Crawler, contexts: CrawlContexts) -> None:
        super().__init__(crawler=crawler)
        self.contexts = contexts
        self.budget = ParseBudget(max(crawler.settings.getint("LINKPATROL_PARSE_BUDGET_MB", 64), 0) * MB)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("COMPRESSION_ENABLED"):
            raise NotConfigured
        return cls(crawler, frontier_of(crawler).contexts)

    # ``spider``: the signature of the methods overridden (Scrapy passes no spider to an optional one).
    def process_request(self, request: Request, spider: Spider | None = None) -> Request | Response | None:
        if not request.meta.get("lp"):
            request.meta.setdefault(MAXSIZE, decoded_cap(request, self.contexts))
        return super().process_request(request)

    async def process_response(self, request: Request, response: Response,  # type: ignore[override]
                               spider: Spider | None = None) -> Request | Response:
        if not request.meta.get("lp"):
            return self._decoded(request, response)
        cap = decoded_cap(request, self.contexts)
        encoded = request.method != "HEAD" and bool(response.headers.getlist("Content-Encoding"))
        waits = self.budget.waits
        # Until it is decoded, its size may be anything up to the cap.
        hold = await self.budget.hold(cap if encoded else len(response.body))
        if self.stats and self.budget.waits > waits:
            self.stats.inc_value("linkpatrol/parse_budget/waited")
        request.meta[MAXSIZE] = cap
        try:
            decoded = self._decoded(request, response)
        except BaseException:
            hold.release()
            raise
        finally:
            del request.meta[MAXSIZE]
        hold.resize(len(decoded.body))
        hold.tie_to(decoded)
        request.meta[HOLD] = hold
        if self.stats:
            self.stats.max_value("linkpatrol/parse_budget/peak_bytes", self.budget.peak)
        return decoded

    def _decoded(self, request: Request, response: Response) -> Response:
        try:
            decoded = super().process_response(request, response)
        except IgnoreRequest as exc:  # the one thing it raises: decoded past the cap
            reason = str(exc)
        else:
            assert isinstance(decoded, Response)  # it returns a request only when given one
            return decoded
        raise DecodedTooLarge(reason)  # outside the except clause: no reference to the first failure
