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
"""

from __future__ import annotations

from typing import Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from crawler.extensions.frontier import MB, FrontierExtension, frontier_of
from crawler.failures import DecodedTooLarge

MAXSIZE = "download_maxsize"


def decoded_cap(request: Request, frontier: FrontierExtension) -> int:
    """The most bytes an answer to ``request`` may decode to: its crawl's ``max_page_size`` (the cap
    the spider stops reading at), else the crawler's default (LINKPATROL_MAX_PAGE_SIZE). Never 0,
    which Scrapy reads as no limit."""
    lp = request.meta.get("lp")
    ctx = frontier.context(lp["crawl"]) if lp else None
    return max(ctx.max_page_bytes if ctx is not None else frontier.default_page_mb * MB, 1)


class DecodedSizeMiddleware(HttpCompressionMiddleware):
    def __init__(self, crawler: Crawler, frontier: FrontierExtension) -> None:
        super().__init__(crawler=crawler)
        self.frontier = frontier

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("COMPRESSION_ENABLED"):
            raise NotConfigured
        return cls(crawler, frontier_of(crawler))

    # ``spider``: the signature of the methods overridden (Scrapy passes no spider to an optional one).
    def process_request(self, request: Request, spider: Spider | None = None) -> Request | Response | None:
        if not request.meta.get("lp"):
            request.meta.setdefault(MAXSIZE, decoded_cap(request, self.frontier))
        return super().process_request(request)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None,
                         ) -> Request | Response:
        own = bool(request.meta.get("lp"))
        if own:
            request.meta[MAXSIZE] = decoded_cap(request, self.frontier)
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:  # the one thing it raises: decoded past the cap
            reason = str(exc)
        finally:
            if own:
                del request.meta[MAXSIZE]
        raise DecodedTooLarge(reason)  # outside the except clause: no reference to the first failure
