"""Which crawler renders a page, and what happens to pages nobody can render.

``RenderRouting`` belongs to the frontier extension: it says how many pages this crawler renders at
once (``pages``: ``LINKPATROL_RENDER_PAGES``, 0 when the browser is missing), leases parked pages from
the render queues when this crawler renders, and, in every crawler's reaper, gives the parked pages of a
crawl back to its ordinary queue (``render_unavailable``) once they waited ``LINKPATROL_RENDER_WAIT``
seconds with no live crawler able to render. See ``linkpatrol.frontier.render_queue``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest
from scrapy.settings import BaseSettings

from linkpatrol.frontier.render_queue import RenderQueue
from linkpatrol.model.wire import FrontierMessage
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import live_descriptions

if TYPE_CHECKING:
    from crawler.frontier.contexts import CrawlContext, CrawlContexts
    from crawler.frontier.leases import LeaseBook

logger = logging.getLogger(__name__)


class Parked(IgnoreRequest):
    """The page waits in its crawl's render queue for a crawler that renders; this one gave its slot up."""


def render_pages(settings: BaseSettings) -> int:
    """Pages this crawler renders at once: ``LINKPATROL_RENDER_PAGES``, or 0 when the browser is missing
    (said once, in one line)."""
    pages = settings.getint("LINKPATROL_RENDER_PAGES", 0)
    if pages <= 0:
        return 0
    browser = settings.get("LINKPATROL_CHROMIUM", "/usr/bin/chromium")
    if not os.access(browser, os.X_OK):
        logger.warning("LINKPATROL_RENDER_PAGES=%d but there is no browser at %s (LINKPATROL_CHROMIUM; "
                       "apt-get install chromium): this crawler does not render", pages, browser)
        return 0
    return pages


class RenderRouting:
    def __init__(self, client: Any, keys: Keys, book: LeaseBook, contexts: CrawlContexts, crawler_id: str,
                 pages: int, wait: float) -> None:
        self.queue = RenderQueue(client, keys)
        self.r = client
        self.keys = keys
        self.book = book  # this process's leases: a parked page leased here is held like any other
        self.contexts = contexts
        self.crawler_id = crawler_id
        self.pages = pages
        self.wait = wait  # seconds parked pages wait with no renderer alive before they are read as they are
        self._leased: set[tuple[str, str]] = set()
        self._unserved: dict[str, float] = {}  # crawl -> since when its parked pages had no renderer

    @classmethod
    def from_settings(cls, settings: BaseSettings, client: Any, keys: Keys, book: LeaseBook, contexts: CrawlContexts,
                      crawler_id: str) -> RenderRouting:
        return cls(client, keys, book, contexts, crawler_id, render_pages(settings),
                   settings.getfloat("LINKPATROL_RENDER_WAIT", 30.0))

    # -- leasing parked pages (crawlers that render) ----------------------------------------------------
    async def lease(self, crawls: list[str], room: int, batch: list[tuple[CrawlContext, FrontierMessage]]) -> int:
        """Lease parked pages into ``batch`` (at most twice ``pages`` held at once); returns the room left."""
        if self.pages <= 0 or room <= 0:
            return room
        self._leased &= set(self.book.leased)
        free = min(room, 2 * self.pages - len(self._leased))
        for crawl_id in crawls:
            if free <= 0:
                break
            raws = await self.queue.pop(crawl_id, free, self.crawler_id)
            if not raws:
                continue
            ctx = await self.contexts.load(crawl_id)
            for raw in raws:
                msg = FrontierMessage.decode(raw)
                self.book.take(crawl_id, msg.url)
                self._leased.add((crawl_id, msg.url))
                batch.append((ctx, msg))
                free -= 1
                room -= 1
        return room

    # -- parking (crawlers that do not render) --------------------------------------------------------
    async def park(self, crawl_id: str, url: str, depth_message: str, reason: str) -> int:
        return int(await self.queue.park(crawl_id, url, self.crawler_id, depth_message, reason))

    # -- nobody renders ------------------------------------------------------------------------------
    async def live_renderers(self) -> int:
        """Live crawlers (this one included) that render."""
        return len(await live_descriptions(self.r, self.keys, _renders))

    async def reap(self) -> int:
        """Give the parked pages of crawls that waited ``wait`` seconds with no renderer alive back to
        their queues, to be read as they are. Returns the pages given back."""
        crawls = sorted(self.contexts.active)
        if not crawls:
            self._unserved.clear()
            return 0
        waiting = [c for c, n in zip(crawls, await self.queue.waiting(crawls), strict=True) if n]
        self._unserved = {c: t for c, t in self._unserved.items() if c in waiting}
        if not waiting or self.pages > 0 or await self.live_renderers():
            self._unserved.clear()
            return 0
        now = time.monotonic()
        moved = 0
        for crawl_id in waiting:
            if now - self._unserved.setdefault(crawl_id, now) < self.wait:
                continue
            count = 0
            while (step := int(await self.queue.unpark(crawl_id))) > 0:
                count += step
            moved += count
            if count:
                logger.warning("crawl %s: %d pages need a browser and no crawler renders "
                               "(LINKPATROL_RENDER_PAGES): they are read without rendering", crawl_id, count)
        return moved


def _renders(info: str) -> bool:
    try:
        return int(json.loads(info).get("render") or 0) > 0
    except (ValueError, TypeError, AttributeError):
        return False
