"""Conditional re-reads: a page of the site that an earlier crawl of the site read in full is asked for
with ``If-None-Match`` / ``If-Modified-Since`` (its kept validators, ``linkpatrol.frontier.known_pages``);
an answer 304 reuses the links that read gave, without downloading or parsing the page again
(``not_modified``, the spider's one branch). The page still counts as crawled, and its links and
anchors go through LINKS and COMPLETE as a parsed page's (counted ``checked_not_modified``).

A page is read in full again once LINKPATROL_REVALIDATE_EVERY crawls of the site were created since
the one that read it (in case the server lies), by a crawl whose options or limits decide its links
otherwise (``fingerprint``), and by a crawl with ``fresh``. What a full read gives is kept for the
site's next crawls (``kept_page``, on ``item_scraped``): HTML pages of the site that answered 200
without a redirect, with an ETag or a Last-Modified. A reuse writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.downloadermiddlewares import CrawlContextMiddleware
from crawler.extensions.frontier import frontier_of
from crawler.frontier.contexts import CrawlContext, CrawlContexts
from crawler.items import CheckedLink
from linkpatrol.frontier.known_pages import KnownPages, SiteHistory
from linkpatrol.model.verdicts import CheckMethod, Outcome
from linkpatrol.model.wire import FoundLink, FrontierMessage, KnownPage, LinkResult, MessageKind, compact_json
from linkpatrol.store.connection import RedisError

logger = logging.getLogger(__name__)
META = "lp_known"  # request meta: the KnownPage a conditional request was made from
# Raise when what a page's read gives changes shape (extraction, the link model): kept pages are then
# read in full once.
FORMAT = 1
VALIDATORS = ("If-None-Match", "If-Modified-Since")


def fingerprint(ctx: CrawlContext, max_links: int, depth: int) -> str:
    """What decided the links a read of a page at ``depth`` gave: the crawl's rules and limits that
    turn extracted links into found links (scope, remap, fragments, the per-page cap, the size cap,
    whether the page's links may be followed)."""
    o = ctx.options
    parts = [FORMAT, ctx.host, sorted(o.remap.items()), o.check_external, o.check_fragments, sorted(o.same_site),
             o.subdomains, max_links, ctx.max_page_bytes, ctx.depth_allows(depth + 1)]
    return hashlib.blake2b(compact_json(parts).encode(), digest_size=8).hexdigest()


def conditional_headers(known: KnownPage, ctx: CrawlContext, max_links: int, depth: int,
                        crawls_since: int, every: int) -> dict[str, str]:
    """The headers that ask for the page only if it changed; none when it must be read in full (``every``
    crawls of the site since it was, or its links would be decided otherwise now)."""
    if ctx.options.fresh or crawls_since >= every or known.fingerprint != fingerprint(ctx, max_links, depth):
        return {}
    headers = {}
    if known.etag:
        headers["If-None-Match"] = known.etag
    if known.last_modified:
        headers["If-Modified-Since"] = known.last_modified
    return headers


def not_modified(response: Response) -> CheckedLink | None:
    """The item of a page that answered 304 to a conditional request: the links, anchors and result of
    its last full read, at this crawl's depth. None when the answer is no such 304."""
    known: KnownPage | None = response.meta.get(META)
    lp = response.meta["lp"]
    if known is None or response.status != 304 or response.meta.get("redirect_urls"):
        return None
    depth = lp["depth"] + 1
    links = [FoundLink(link.target, FrontierMessage(link.target, link.message.kind, depth), link.referrer, link.anchor)
             for link in known.links]
    result = LinkResult(lp["url"], Outcome.OK, status=known.status, content_type=known.content_type)
    retries = int(response.meta.get("retry_times", 0)) + int(response.meta.get("lp_rate_retries", 0))
    return CheckedLink(lp["crawl"], result, is_page=True, links=links, promoted=not lp["page"],
                       method=CheckMethod.NOT_MODIFIED, retries=retries, anchors=known.anchors,
                       links_over_cap=known.over_cap, depth_limited=known.depth_limited)


def _header(response: Response, name: bytes) -> str:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else ""


def kept_page(item: CheckedLink, response: Response, ctx: CrawlContext, max_links: int,
              read_at: float) -> KnownPage | None:
    """What to keep of a page read in full (HTML of the site, 200, no redirect, not cut at the size cap,
    with a validator) for the site's next crawls; None for anything else, a reused page included."""
    lp = response.meta["lp"]
    res = item.result
    if item.method is CheckMethod.NOT_MODIFIED or not item.is_page or res.outcome != Outcome.OK or \
            res.redirects or lp.get("truncated"):
        return None
    etag, last_modified = _header(response, b"ETag"), _header(response, b"Last-Modified")
    if not etag and not last_modified:
        return None
    return KnownPage(etag, last_modified, fingerprint(ctx, max_links, lp["depth"]),
                     [link for link in item.links if link.message.kind is not MessageKind.SITEMAP],
                     item.anchors, res.status or 200, res.content_type, item.links_over_cap, item.depth_limited,
                     read_at)


class ConditionalMiddleware(CrawlContextMiddleware):
    def __init__(self, contexts: CrawlContexts, pages: KnownPages, every: int, max_links: int) -> None:
        super().__init__(contexts)
        self.pages = pages
        self.every = every
        self.max_links = max_links  # links taken from one page: a kept page's links depend on it
        self._history: dict[str, SiteHistory] = {}  # crawl id -> its site's, read once

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        every, cap = s.getint("LINKPATROL_REVALIDATE_EVERY", 10), s.getint("LINKPATROL_REVALIDATE_PAGES", 20_000)
        if every < 2 or cap <= 0:
            raise NotConfigured("LINKPATROL_REVALIDATE_EVERY below 2 or LINKPATROL_REVALIDATE_PAGES 0: "
                                "every page is read in full")
        frontier = frontier_of(crawler)
        mw = cls(frontier.contexts, KnownPages(frontier.r, frontier.keys, cap), every, frontier.config.max_links)
        crawler.signals.connect(mw.item_scraped, signal=signals.item_scraped)
        return mw

    async def process_request(self, request: Request) -> None:
        lp = request.meta.get("lp")
        if not lp or not lp["parse"] or lp["external"] or lp["sitemap"] or request.method != "GET":
            return
        if request.meta.get("redirect_urls"):  # a hop of a redirect: another page than the one known
            request.meta.pop(META, None)
            for name in VALIDATORS:
                request.headers.pop(name, None)
            return
        ctx = self.contexts.get(lp["crawl"])
        if ctx is None or ctx.options.fresh or request.meta.get(META):
            return
        try:
            history = await self._site_history(ctx)
            known = await self.pages.get(ctx.url, lp["url"]) if history.has_pages else None
        except (RedisError, OSError) as exc:  # an optimisation only: the page is read in full
            logger.debug("no conditional request for %s: %s", lp["url"], exc)
            return
        if known is None:
            return
        headers = conditional_headers(known, ctx, self.max_links, lp["depth"],
                                      history.crawls_since(known.read_at), self.every)
        if headers:
            request.meta[META] = known
            for name, value in headers.items():
                request.headers[name] = value

    async def _site_history(self, ctx: CrawlContext) -> SiteHistory:
        """Read once per crawl: a site crawled for the first time costs no look per page."""
        history = self._history.get(ctx.id)
        if history is None:
            history = await self.pages.history(ctx.id, ctx.url, self.every)
            if len(self._history) > 1000:
                self._history.clear()
            self._history[ctx.id] = history
        return history

    async def item_scraped(self, item: Any, response: Response | None, spider: Any) -> None:
        """Keep what a page's read gave (or one more reuse of it) for the site's next crawl."""
        # An errback's item comes with the failure, not a response: nothing read, nothing to keep.
        lp = response.meta.get("lp") if isinstance(response, Response) else None
        if not isinstance(item, CheckedLink) or not lp or response is None:
            return
        ctx = self.contexts.get(lp["crawl"])
        if ctx is None or item.method is CheckMethod.NOT_MODIFIED:
            return
        try:
            history = await self._site_history(ctx)
            page = kept_page(item, response, ctx, self.max_links, history.created)
            if page is not None:
                await self.pages.put(ctx.id, ctx.url, lp["url"], page)
        except (RedisError, OSError) as exc:  # the next crawl reads the page in full
            logger.debug("could not keep %s for the next crawl: %s", lp["url"], exc)
