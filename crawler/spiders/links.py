"""The ``links`` spider: leases messages from the Redis frontier, fetches or checks each url, and
hands one CheckedLink item per message to the pipeline.

Run it in as many processes as you like: ``scrapy crawl links``. It never stops on its own; it waits
for work from any crawl (start messages are pulled by the feeder).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Self

import scrapy
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import HtmlResponse, Response
from twisted.python.failure import Failure

from crawler.config import Config
from crawler.extract import extract_links
from crawler.feeder import CrawlContext, Feeder, connect
from crawler.frontier import compact_json, message
from crawler.items import CheckedLink
from crawler.status import CancelledCrawl, NotAllowedAddress, error_kind, outcome_for_status
from crawler.storage import LinkResult
from crawler.urls import InvalidURL, host_of, normalize_url

logger = logging.getLogger(__name__)
HTML_TYPES = (b"text/html", b"application/xhtml+xml")
SMALL_BODY = 64 * 1024


def _is_html(content_type: bytes | None) -> bool:
    return bool(content_type) and content_type.split(b";", 1)[0].strip().lower() in HTML_TYPES  # type: ignore[union-attr]


class LinksSpider(scrapy.Spider):
    name = "links"
    feeder: Feeder
    config: Config

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = Config.from_env()
        capacity = crawler.settings.getint("CONCURRENT_REQUESTS") + crawler.settings.getint(
            "LINKPATROL_PREFETCH", 16
        )
        s = crawler.settings
        host_cap = s.getint("LINKPATROL_HOST_LEASES")
        if host_cap < 0:  # default: twice what the shared politeness lets through at once
            polite = s.getbool("LINKPATROL_POLITENESS_ENABLED") and s.getint("LINKPATROL_HOST_CONCURRENCY") > 0
            host_cap = 2 * s.getint("LINKPATROL_HOST_CONCURRENCY") if polite else 0
        spider.feeder = Feeder(connect(spider.config), spider.config, capacity, host_cap)
        crawler.signals.connect(spider.on_headers, signal=signals.headers_received)
        crawler.signals.connect(spider.on_closed, signal=signals.spider_closed)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        await self.feeder.open()
        while True:
            for ctx, msg in await self.feeder.next_batch():
                yield self.request_for(ctx, msg)

    async def on_closed(self, spider: scrapy.Spider, reason: str) -> None:
        await self.feeder.close()

    # -- building requests -------------------------------------------------------------------------
    def request_for(self, ctx: CrawlContext, msg: dict[str, Any]) -> Request | CheckedLink:
        url, kind, depth = msg["u"], msg["k"], int(msg.get("d", 0))
        external = host_of(url) != ctx.host
        if kind == "invalid-url":
            return self._item(ctx, LinkResult(url, "dead", error="invalid-url", external=external))
        if kind == "unsupported":
            return self._item(ctx, LinkResult(url, "unsupported", error="unsupported-scheme", external=external))
        page = kind == "page" and not external
        meta: dict[str, Any] = {
            "lp": {"crawl": ctx.id, "url": url, "depth": depth, "page": page, "scope": ctx.host,
                   "external": external},
        }
        if not ctx.options.respect_robots:
            meta["dont_obey_robotstxt"] = True
        try:
            return Request(
                url,
                method="GET" if page else "HEAD",
                callback=self.parse_page if page else self.on_checked,
                errback=self.on_error,
                meta=meta,
                dont_filter=True,
            )
        except ValueError:
            return self._item(ctx, LinkResult(url, "dead", error="invalid-url", external=external))

    def _item(self, ctx: CrawlContext, result: LinkResult) -> CheckedLink:
        return CheckedLink(ctx.id, result, max_pages=ctx.options.max_pages or 0)

    def on_headers(self, headers: Any, body_length: int, request: Request, spider: Any) -> None:
        """Cut every download short that we will not parse: checks (HEAD refused, GET tried) and
        pages that turn out not to be HTML or to live outside the crawl's scope."""
        lp = request.meta.get("lp")
        if not lp or request.method != "GET":
            return
        if isinstance(body_length, int) and 0 <= body_length <= SMALL_BODY:
            # Read small bodies to the end. Stopping one that already arrived with its headers closes
            # a connection Twisted has just put back in its pool as reusable: the next request on it
            # fails and is silently sent again (seen as two GETs of one link in the tests).
            return
        if not lp["page"] or not _is_html(headers.get(b"Content-Type")) or host_of(request.url) != lp["scope"]:
            raise StopDownload(fail=False)

    # -- results -----------------------------------------------------------------------------------
    def _result(self, response: Response) -> LinkResult:
        meta = response.meta
        lp = meta["lp"]
        hops = [[u, s] for u, s in zip(meta.get("redirect_urls", []), meta.get("redirect_reasons", []), strict=False)]
        ctype = response.headers.get(b"Content-Type")
        return LinkResult(
            url=lp["url"],
            outcome=outcome_for_status(response.status, bool(meta.get("lp_retry_after"))),
            status=response.status,
            final_url=response.url if hops else None,
            redirects=hops,
            content_type=ctype.decode("latin-1").split(";", 1)[0].strip() if ctype else None,
            external=lp["external"],
        )

    def on_checked(self, response: Response) -> CheckedLink:
        lp = response.meta["lp"]
        return CheckedLink(lp["crawl"], self._result(response), max_pages=self._max_pages(lp["crawl"]))

    def parse_page(self, response: Response) -> CheckedLink:
        lp = response.meta["lp"]
        item = CheckedLink(lp["crawl"], self._result(response), max_pages=self._max_pages(lp["crawl"]))
        if (
            item.result.outcome == "ok"
            and isinstance(response, HtmlResponse)
            and host_of(response.url) == lp["scope"]
        ):
            if item.result.redirects:
                # A redirect inside the site: the page is known by its final url, queue that one
                # (deduplicated like any link) rather than parsing the same page under two names.
                depth = lp["depth"]
                try:
                    final = normalize_url(response.url)[0]
                except InvalidURL:
                    return item
                item.links = [(final, message(final, "page", depth), "1", "")]
                return item
            item.is_page = True
            try:
                item.links = self._links(response, lp)
            except Exception:  # hostile HTML must not cost the lease: record the page, log the cause
                logger.exception("could not extract links from %s", response.url)
        return item

    def _links(self, response: HtmlResponse, lp: dict[str, Any]) -> list[tuple[str, str, str, str]]:
        ctx = self.feeder.contexts.get(lp["crawl"])
        options = ctx.options if ctx else None
        depth = lp["depth"] + 1
        may_follow = options is None or options.max_depth is None or depth <= options.max_depth
        check_external = options is None or options.check_external
        page_url = response.url.split("#", 1)[0]
        out: list[tuple[str, str, str, str]] = []
        for link in extract_links(response):
            external = host_of(link.target) != lp["scope"]
            if link.problem:
                if external and not check_external and link.problem != "invalid-url":
                    continue
                msg, budget = message(link.target, link.problem, depth), ""
            elif external:
                if not check_external:
                    continue
                msg, budget = message(link.target, "check", depth), ""
            elif link.follow and may_follow:
                msg, budget = message(link.target, "page", depth), "1"
            else:
                msg, budget = message(link.target, "check", depth), ""
            ref = compact_json([page_url, link.text, link.element, link.fragment])
            out.append((link.target, msg, budget, ref))
        return out

    def _max_pages(self, crawl_id: str) -> int:
        ctx = self.feeder.contexts.get(crawl_id)
        return (ctx.options.max_pages or 0) if ctx else 0

    def on_error(self, failure: Failure) -> CheckedLink:
        request = failure.request  # type: ignore[attr-defined]
        lp = request.meta["lp"]
        exc = failure.value
        hops = [[u, s] for u, s in zip(request.meta.get("redirect_urls", []),
                                        request.meta.get("redirect_reasons", []), strict=False)]
        final = request.url if hops else None
        if isinstance(exc, CancelledCrawl):
            return CheckedLink(lp["crawl"], LinkResult(lp["url"], "excluded"), release_only=True)
        if isinstance(exc, NotAllowedAddress):
            result = LinkResult(lp["url"], "excluded", error="address-not-allowed", external=lp["external"],
                                final_url=final, redirects=hops)
        elif isinstance(exc, IgnoreRequest) and "robots.txt" in str(exc):
            result = LinkResult(lp["url"], "excluded", error="robots", external=lp["external"],
                                final_url=final, redirects=hops)
        else:
            kind = error_kind(exc) if exc is not None else "connection-failed"
            logger.debug("%s failed: %s (%r)", lp["url"], kind, exc)
            result = LinkResult(lp["url"], "dead", error=kind, external=lp["external"],
                                final_url=final, redirects=hops)
        return CheckedLink(lp["crawl"], result, max_pages=self._max_pages(lp["crawl"]))
