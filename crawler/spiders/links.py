"""The ``links`` spider, a scrapy-redis spider: it reads start messages from ``links:start_urls`` (a
URL, a JSON object with the API's options, or ``{"crawl_id": ...}`` from the web app and the CLI),
leases request messages from the Redis frontier, fetches or checks each url, and hands one
CheckedLink item per message to the pipeline.

Run it in as many processes as you like: ``scrapy crawl links``. It never stops on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request
from scrapy.exceptions import DontCloseSpider
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy_redis.spiders import RedisSpider
from twisted.python.failure import Failure

from crawler import results
from crawler.body_limits import BodyLimits
from crawler.downloadermiddlewares.conditional import not_modified
from crawler.extensions.frontier import frontier_of, redis_from_settings
from crawler.extract import PageScan, anchor_name, scan_page, scan_stylesheet
from crawler.frontier.contexts import CrawlContexts
from crawler.frontier.host_verdicts import HostVerdicts
from crawler.frontier.leases import Leasing
from crawler.items import CheckedLink
from crawler.leased_requests import Callbacks, work_for
from crawler.media_types import is_css
from crawler.parse_threads import off_reactor, parse_body
from crawler.render.job import render_job
from crawler.settling import settles
from crawler.sitemaps import NotASitemap, SitemapTooLarge, discover_sitemaps, read_sitemap
from linkpatrol.frontier import CrawlLimits
from linkpatrol.model.urls import InvalidURL, host_of, normalize_url
from linkpatrol.model.verdicts import ErrorKind, Outcome
from linkpatrol.model.wire import FoundLink, FrontierMessage, LinkResult, MessageKind, Referrer
from linkpatrol.store.connection import RedisError, SyncClient, retrying, unavailable
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.start_queue import StartQueue

logger = logging.getLogger(__name__)
START_POLL = 0.25  # seconds between looks at the start queue after an error
START_WAIT = 2  # seconds one blocking wait for a start message lasts (a new crawl is taken at once)
SITEMAP_URLS = 50_000  # what the sitemap protocol allows in one file


class LinksSpider(RedisSpider):
    name = "links"
    # The frontier's components the spider uses (crawler/frontier), set when it starts.
    contexts: CrawlContexts
    leases: Leasing
    host_verdicts: HostVerdicts
    max_links: int  # links taken from one page (LINKPATROL_MAX_LINKS_PER_PAGE)
    start_queue: StartQueue
    body_limits: BodyLimits  # kept here: the signals hold its handlers weakly
    callbacks: Callbacks

    def setup_redis(self, crawler: Any = None) -> None:
        """scrapy-redis's set-up (redis_key from REDIS_START_URLS_KEY, batch size...), with the core's
        asyncio client as ``self.server``: every Redis call of the crawler awaits."""
        super().setup_redis(crawler)
        self.server = redis_from_settings((crawler or self.crawler).settings)

    def spider_idle(self) -> None:
        """scrapy-redis schedules start requests when idle; here start messages are read by
        ``start()``, and a crawler never closes for lack of work."""
        raise DontCloseSpider

    async def start(self) -> AsyncIterator[Any]:
        frontier = frontier_of(self.crawler)
        self.contexts, self.leases, self.host_verdicts = frontier.contexts, frontier.leases, frontier.host_verdicts
        self.max_links = frontier.config.max_links
        # Before the first request: how much of each body is read is decided while it arrives.
        self.body_limits = BodyLimits(self.contexts)
        self.body_limits.connect(self.crawler.signals)
        self.callbacks = Callbacks(checked=self.on_checked, page=self.parse_page, seed=self.parse_seed,
                                   sitemap=self.parse_sitemap, anchors=self.read_anchors, error=self.on_error)
        await frontier.open()
        settings = self.crawler.settings
        retention = CrawlStore(redis_from_settings(settings, SyncClient), frontier.keys,
                               settings.getint("LINKPATROL_KEEP_CRAWLS", 30))
        limits = CrawlLimits(settings.getint("LINKPATROL_MAX_PAGES"), settings.getint("LINKPATROL_MAX_DEPTH"),
                             settings.getint("LINKPATROL_MAX_DURATION"))
        self.start_queue = StartQueue(self.server, frontier.keys, frontier.crawler_id, retention, limits)
        reader = asyncio.create_task(self._read_start_messages())
        try:
            while True:
                for ctx, msg in await self.leases.next_batch():
                    yield work_for(ctx, msg, self.host_verdicts, self.callbacks)
        finally:
            # The engine stopped asking: it is shutting down. It waits for what is under way; the
            # frontier's watchdog bounds that wait.
            reader.cancel()
            frontier.stopping()

    # -- start messages ------------------------------------------------------------------------------
    async def pop_list_queue(self, redis_key: str, batch_size: int) -> list[str]:  # type: ignore[override]
        """scrapy-redis pops a batch destructively (a crawler that dies loses it) and drops a batch on
        one bad message; here each message is claimed into this crawler's own list first."""
        return await self.start_queue.claim(batch_size)

    async def make_request_from_data(self, data: str) -> str | None:  # type: ignore[override]
        """The one place a start message becomes work: a crawl, created if needed and seeded.
        Returns the crawl id, None for a bad message (logged in one line)."""
        return await self.start_queue.handle(data)

    async def _read_start_messages(self) -> None:
        await retrying("reading start messages", self.start_queue.take_back_own)
        while True:
            try:
                raws = await self.pop_list_queue(self.redis_key, min(self.redis_batch_size, 10))
                started = 0
                for raw in raws:
                    if await self.make_request_from_data(raw):
                        started += 1
                        self.leases.nudge(new_crawl=True)  # its seed page is queued: lease it now
                if not raws:
                    await self.start_queue.wait(START_WAIT)  # returns as soon as a message comes
                if started == len(raws):
                    continue
                # A message that failed stays claimed for another attempt: not at once.
            except (RedisError, OSError) as exc:
                if not unavailable(exc):
                    logger.exception("start queue: unexpected Redis error")
                    await asyncio.sleep(START_POLL)
                    continue
                # Busy, loading, failing over or away: what this crawler claimed goes back, and the
                # loop waits with the others for Redis to serve again.
                logger.debug("start queue: Redis unreachable or busy (%s)", exc)
                await asyncio.sleep(1.0)
                await retrying("reading start messages", self.start_queue.take_back_own)
                continue
            except Exception:
                logger.exception("start queue: unexpected failure")
            await asyncio.sleep(START_POLL)

    # -- results -----------------------------------------------------------------------------------
    def answered(self, response: Response) -> CheckedLink:
        """What ``settles`` records for a callback that failed: the answer as it came."""
        return results.answered(response, self.contexts)

    def _item(self, response: Response) -> CheckedLink:
        """The url's item from its answer, before any parse adds the links and anchors."""
        request = response.request or Request(response.url)
        return results.item_of(response.meta["lp"], results.result_of(response, self.contexts), request)

    @settles
    def on_checked(self, response: Response) -> CheckedLink:
        return self._item(response)

    @settles
    async def parse_page(self, response: Response) -> CheckedLink:
        if response.status == 304 and (reused := not_modified(response)) is not None:
            return reused  # unchanged since the site's last crawl read it: its links reused
        lp = response.meta["lp"]
        item = self._item(response)
        if item.result.outcome not in (Outcome.OK, Outcome.WARNING):
            return item
        if not self.contexts.in_scope(lp["crawl"], host_of(response.url)):
            options = self.contexts.options(lp["crawl"])
            if item.result.redirects and options is not None and options.check_fragments == "all" and \
                    options.check_external:
                # Landed on another host's page: queued as a check, read for the anchors that the
                # #fragments asked of this url are checked against (wire.Completion.landing).
                with contextlib.suppress(InvalidURL):
                    final = normalize_url(response.url)[0]
                    item.links = [FoundLink(final, FrontierMessage(final, MessageKind.CHECK, lp["depth"]))]
            return item
        stylesheet = is_css(response.headers.get(b"Content-Type"))
        if not isinstance(response, HtmlResponse) and not stylesheet:
            return item
        if item.result.redirects:
            # A redirect inside the site: the page is known by its final url, queue that one
            # (deduplicated like any link) rather than parsing the same page under two names.
            try:
                final = normalize_url(response.url)[0]
            except InvalidURL:
                return item
            kind = MessageKind.PAGE if lp["page"] else MessageKind.CHECK
            item.links = [FoundLink(final, FrontierMessage(final, kind, lp["depth"]))]
            return item
        try:
            if stylesheet:  # a stylesheet of the site: its url() and @import targets, not a page
                css = await parse_body(scan_stylesheet, response, self.max_links)
                item.links = self._links(css, response, lp)  # type: ignore[arg-type]
                item.links_over_cap = css.overflow
                return item
            scan = await parse_body(scan_page, response, self.max_links)
            if (job := render_job(response)) is not None:  # shadow roots, hash routes, failed requests
                scan = await off_reactor(job.merged, scan, response, self.max_links)
            if scan.tokenized:
                logger.info("%s nests elements too deep for the tree parser: read with the tokenizer", response.url)
            if scan.overflow:
                logger.info("%s links more than %d distinct targets: %d more links not taken", response.url,
                            self.max_links, scan.overflow)
                item.links_over_cap = scan.overflow
            if scan.too_many_anchors:
                logger.info("%s holds more than %d ids: fragments naming it are not checked", response.url,
                            self.max_links)
            item.is_page = True
            item.promoted = not lp["page"]
            item.links = self._links(scan, response, lp)  # type: ignore[arg-type]
            item.depth_limited = bool(lp.get("depth_limited"))
            ctx = self.contexts.get(lp["crawl"])
            if ctx is not None and ctx.options.check_fragments != "none" and not scan.too_many_anchors:
                item.anchors = scan.anchors
        except Exception:  # hostile HTML must not cost the lease: record the page, log the cause
            logger.exception("could not extract links from %s", response.url)
        return item

    @settles
    async def parse_seed(self, response: Response) -> CheckedLink:
        """The first page of a crawl that reads sitemaps: parsed, plus the sitemaps robots.txt names
        (else /sitemap.xml when there is one) queued to be read."""
        item = await self.parse_page(response)
        lp = response.meta["lp"]
        try:
            found = await discover_sitemaps(self.crawler, response.url)
        except Exception:  # a sitemap we cannot find is no reason to lose the seed page
            logger.exception("could not look for the sitemaps of %s", response.url)
            found = []
        for url, referrer in found:
            item.links.append(FoundLink(url, FrontierMessage(url, MessageKind.SITEMAP, lp["depth"] + 1),
                                        Referrer(referrer, "", "sitemap", "")))
        return item

    @settles
    async def parse_sitemap(self, response: Response) -> CheckedLink:
        """A sitemap: every url it lists is checked (in-scope ones crawled as pages); an index's
        sitemaps are read in turn. Pages listed here that no page links to are the crawl's orphans."""
        lp = response.meta["lp"]
        item = self._item(response)
        if item.result.outcome not in (Outcome.OK, Outcome.WARNING):
            return item
        ctx = self.contexts.get(lp["crawl"])
        try:
            # The protocol allows 50,000 urls a sitemap; a bigger one is cut like a page.
            item.link_cap = max(SITEMAP_URLS, self.max_links)
            listing, item.links_over_cap = await off_reactor(
                functools.partial(read_sitemap, max_size=lp["cap"]), response.body, response.url, item.link_cap)
        except SitemapTooLarge as exc:  # a .gz sitemap decoding past the cap: as a compressed answer would
            logger.info("%s is too large: %s", response.url, exc)
            item.result.outcome, item.result.error = ErrorKind.TOO_LARGE.outcome, ErrorKind.TOO_LARGE
            item.links_over_cap = 0
            return item
        except NotASitemap as exc:  # an HTML page at /sitemap.xml, a broken gzip...: no sitemap, no problem
            logger.info("%s is not a sitemap: %s", response.url, exc)
            item.links_over_cap = 0
            return item
        except Exception:
            logger.exception("could not read the sitemap %s", response.url)
            item.links_over_cap = 0
            return item
        item.from_sitemap = True
        depth = lp["depth"] + 1
        for listed, is_sitemap in listing:
            url = ctx.rules.remap(listed) if ctx is not None else listed  # as for a page's links
            if is_sitemap:
                kind = MessageKind.SITEMAP
            else:
                kind = MessageKind.PAGE if ctx is not None and ctx.in_scope(host_of(url)) else MessageKind.CHECK
            item.links.append(FoundLink(url, FrontierMessage(url, kind, depth),
                                        Referrer(response.url, "", "sitemap", "")))
        return item

    @settles
    async def read_anchors(self, response: Response) -> CheckedLink:
        """A page of another host, read only for its anchors (the crawl checks fragments everywhere)."""
        item = self.on_checked(response)
        if item.result.outcome in (Outcome.OK, Outcome.WARNING) and isinstance(response, HtmlResponse):
            try:
                scan = await parse_body(scan_page, response, self.max_links)
                item.anchors = None if scan.too_many_anchors else scan.anchors
            except Exception:
                logger.exception("could not read the anchors of %s", response.url)
        return item

    def _links(self, scan: PageScan, response: TextResponse, lp: dict[str, Any]) -> list[FoundLink]:
        ctx = self.contexts.get(lp["crawl"])
        options = ctx.options if ctx else None
        depth = lp["depth"] + 1
        may_follow = ctx is None or ctx.depth_allows(depth)
        check_external = options is None or options.check_external
        fragments = options.check_fragments if options else "site"
        page_url = response.url.split("#", 1)[0]
        out: list[FoundLink] = []
        for link in scan.links:
            target = ctx.rules.remap(link.target) if ctx else link.target  # the crawl's remap prefixes first
            external = not (ctx.in_scope(host_of(target)) if ctx else False)
            if link.problem:
                if external and not check_external and link.problem != MessageKind.INVALID_URL:
                    continue
                kind = MessageKind(link.problem)
            elif external:
                if not check_external:
                    continue
                kind = MessageKind.CHECK
            elif link.follow and may_follow:
                kind = MessageKind.PAGE
            else:
                if link.follow and not link.same_page:
                    lp["depth_limited"] = True  # a page the depth limit leaves uncrawled: the report says so
                kind = MessageKind.CHECK
            anchor = ""
            if link.fragment and not link.problem and (fragments == "all" or (fragments == "site" and not external)):
                anchor = anchor_name(link.fragment) or ""
            if link.same_page and not anchor:
                continue  # "#top", "#", a route: nothing to check
            out.append(FoundLink(target, FrontierMessage(target, kind, depth),
                                 Referrer(page_url, link.text, link.element, link.fragment, link.line), anchor))
        return out

    def on_error(self, failure: Failure) -> CheckedLink | None:
        try:
            return results.failed(failure, self.host_verdicts)
        except Exception:  # the failure is the url's verdict whatever went wrong in naming it
            lp = failure.request.meta["lp"]  # type: ignore[attr-defined]
            logger.exception("could not name the failure of %s (%s)", lp["url"], failure.value)
            kind = ErrorKind.CONNECTION_FAILED
            return CheckedLink(lp["crawl"], LinkResult(lp["url"], kind.outcome, error=kind,
                                                       external=bool(lp.get("external"))))

