"""The render middleware: sends the pages of a crawl that renders to the browser, or parks them.

For a page of the crawl's site that is parsed, and a crawl whose ``render`` option is not ``never``:

- the page is fetched as it is first; when it answers 200 with HTML, under ``always``, or under ``auto``
  when that HTML looks like an application shell (``crawler.render.detect``), this crawler renders it
  when it can (the same request again with ``meta["playwright"]`` and a ``RenderJob``), otherwise it is
  parked for a crawler that can (``Parked``: the spider records nothing and this process frees its slot);
- a page known to need a browser already (``:render:why``: parked, then leased by a crawler that
  renders, or given back by a crawler that died) goes to the browser at once.
When the crawl is ``render_unavailable`` (no crawler could render in time) the page is read as it is and
recorded as a ``not-rendered`` warning (``lp["not_rendered"]``). A page whose rendering failed (the
time limit, a crashed page or browser) is fetched again as it is, with the same warning. A conditional
re-read's validators are dropped from a request that renders: a browser shown a 304 shows nothing.
Its Redis calls wait while Redis is away (``retrying``), as every call of the crawler does: a page is
never decided by a Redis outage.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy_playwright.page import PageMethod

from crawler.extensions.frontier import frontier_of
from crawler.frontier.contexts import CrawlContexts
from crawler.render.detect import shell_reason
from crawler.render.job import CONTEXT_PREFIX, RenderJob
from crawler.render.routing import Parked, RenderRouting
from linkpatrol.frontier import render_queue
from linkpatrol.model.urls import host_of
from linkpatrol.model.wire import FrontierMessage, MessageKind
from linkpatrol.store.connection import retrying

logger = logging.getLogger(__name__)

FAILED = "render-failed"


class RenderMiddleware:
    def __init__(self, crawler: Crawler, contexts: CrawlContexts, render: RenderRouting) -> None:
        self.crawler = crawler
        self.contexts = contexts
        self.render = render
        s = crawler.settings
        self.settle = s.getfloat("LINKPATROL_RENDER_SETTLE", 2.0)
        self.routes = s.getint("LINKPATROL_RENDER_ROUTES", 10)
        self.timeout_ms = s.getfloat("LINKPATROL_RENDER_TIMEOUT", 30.0) * 1000
        self.user_agent = s.get("USER_AGENT")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        frontier = frontier_of(crawler)
        if frontier.render is None:
            raise NotConfigured("no render routing")
        return cls(crawler, frontier.contexts, frontier.render)

    @property
    def renders(self) -> bool:
        return self.render.pages > 0

    def _mode(self, request: Request) -> str:
        lp = request.meta.get("lp")
        if not lp or not lp.get("parse") or lp.get("external") or lp.get("sitemap"):
            return "never"
        ctx = self.contexts.get(lp["crawl"])
        return str(getattr(ctx.options, "render", "never")) if ctx is not None else "never"

    async def process_request(self, request: Request) -> None:
        if request.meta.get("playwright"):
            for name in (b"If-None-Match", b"If-Modified-Since"):
                request.headers.pop(name, None)
            return None
        mode = self._mode(request)
        lp = request.meta.get("lp") or {}
        if mode == "never" or lp.get("not_rendered"):
            return None
        # Read as it is first (a link may lead to a 404, an image, a PDF: nothing to render) and
        # process_response decides, unless the page is known to need a browser already (parked).
        reason = await self._known_reason(lp)
        if reason is None:
            return None
        await self._route(request, lp, reason)
        return None

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("playwright") or response.status != 200 or not isinstance(response, HtmlResponse):
            return response
        lp = request.meta.get("lp") or {}
        mode = self._mode(request)
        if mode == "never" or lp.get("not_rendered") or request.meta.get("redirect_urls") or \
                not self.contexts.in_scope(lp["crawl"], host_of(response.url)):
            return response
        reason = "always" if mode == "always" else shell_reason(response.body, response.encoding)
        if reason is None:
            return response
        rendered = request.replace(dont_filter=True)
        await self._route(rendered, lp, reason)
        if lp.get("not_rendered"):
            return response
        logger.debug("%s looks like an application shell (%s): rendering it", response.url, reason)
        return rendered

    def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if not request.meta.get("playwright") or isinstance(exception, IgnoreRequest):
            return None
        lp = request.meta.get("lp")
        if not lp:
            return None
        logger.info("could not render %s (%s: %s); reading it as it is", lp["url"], type(exception).__name__,
                    str(exception).splitlines()[0] if str(exception) else "")
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("linkpatrol/render/failed")
        meta = {k: v for k, v in request.meta.items() if not k.startswith("playwright") and k != "lp_render"}
        lp["not_rendered"] = FAILED
        return request.replace(meta=meta, dont_filter=True)

    async def _known_reason(self, lp: dict[str, Any]) -> str | None:
        why = await retrying("reading why a page is rendered", functools.partial(self.render.queue.why, lp["crawl"],
                                                                                  lp["url"]))
        return str(why) if why else None

    async def _route(self, request: Request, lp: dict[str, Any], reason: str) -> None:
        """Render ``request`` here, park it, or mark it read as it is (``not_rendered``)."""
        render = self.render
        crawl_id, url = lp["crawl"], lp["url"]
        if self.renders:
            await retrying("noting why a page is rendered", functools.partial(render.queue.note, crawl_id, url,
                                                                               reason))
            self._make_rendering(request, reason)
            return
        kind = MessageKind.PAGE if lp.get("page") else MessageKind.CHECK
        message = FrontierMessage(url, kind, lp["depth"]).encode()
        answer = await retrying("parking a page for a crawler that renders", functools.partial(
            render.park, crawl_id, url, message, reason))
        if answer == render_queue.PARKED or answer == render_queue.NOT_HELD:
            render.book.release(crawl_id, url)
            raise Parked(f"{url} waits for a crawler that renders ({reason})")
        lp["not_rendered"] = reason  # nobody renders for this crawl (or it ended): read as it is

    def _make_rendering(self, request: Request, reason: str) -> None:
        lp = request.meta["lp"]
        job = RenderJob(reason, settle=self.settle, routes=self.routes)
        request.meta.update({
            "lp_render": job,
            "playwright": True,
            "playwright_context": f"{CONTEXT_PREFIX}{lp['crawl']}",
            "playwright_context_kwargs": {
                "service_workers": "block", "accept_downloads": False, "permissions": [],
                "java_script_enabled": True, "ignore_https_errors": False, "user_agent": self.user_agent,
                "viewport": {"width": 1280, "height": 900},
            },
            "playwright_page_goto_kwargs": {"wait_until": "load", "timeout": self.timeout_ms},
            "playwright_page_event_handlers": job.handlers(),
            "playwright_page_methods": [PageMethod(job.settle_and_collect)],
        })
        for name in (b"If-None-Match", b"If-Modified-Since"):
            request.headers.pop(name, None)
