"""The download handler of a crawler that renders: scrapy-playwright's, with linkpatrol's rules around it.

Installed for http and https only in a crawler started with ``LINKPATROL_RENDER_PAGES`` above 0 (and a
browser at ``LINKPATROL_CHROMIUM``); requests without ``meta["playwright"]`` go to the crawler's own
download handler (``crawler.download.handler``, aiohttp, the address policy in its resolver), as in a
crawler that does not render: scrapy-playwright's handler is Scrapy's Twisted HTTP/1.1 one, whose
client is left unused. Around scrapy-playwright it adds:

- at most ``LINKPATROL_RENDER_PAGES`` pages at once in the process, each closed after
  ``LINKPATROL_RENDER_TIMEOUT`` seconds whatever it does (``RenderTimeout``); an open page is reused for
  the crawl's next page (``PAGE_USES`` navigations at most, as many kept as render at once): a third less
  CPU than a new page each time;
- one browser context per crawl (``crawl-<id>``: no cookies, storage or cache shared between crawls),
  service workers blocked, downloads refused, no permission granted, popups closed, dialogs dismissed
  (Playwright's default); contexts of crawls no longer active closed;
- the address policy on every connection the browser makes: all its traffic goes through
  ``GuardProxy`` (``crawler/render/proxy.py``), which resolves each host once and connects only to an
  address it checked (redirect hops, WebSockets and a name rebound between two lookups included);
  before that, a route on every request (navigation, subresources, fetch/XHR, workers' requests) and a
  WebSocket route refuse what the crawler's resolver (``GuardedResolver.host_allowed``, as the address
  guard middleware asks it) refuses, so a refused request fails at once with one log line; schemes
  other than http(s), data:, blob: and about: are aborted.
A crashed browser is launched again by scrapy-playwright on the next page; the page that was under
way fails, and the render middleware reads it as it is (the lease is never lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy_playwright.handler import BrowserContextWrapper, ScrapyPlaywrightDownloadHandler

from crawler.download.handler import DownloadHandler
from crawler.download.resolver import resolver_of
from crawler.render.job import CONTEXT_PREFIX, RenderJob
from crawler.render.proxy import GuardProxy

logger = logging.getLogger(__name__)

LOCAL_SCHEMES = ("data", "blob", "about")
SWEEP_EVERY = 5.0  # seconds between looks for contexts of crawls that ended
# Navigations one open page serves before it is closed: reusing a page costs chromium about 0.15 CPU s
# and 0.09 s a page instead of 0.24 and 0.24 for a new one (README, Rendering pages); a bound keeps what a
# long-lived page may accumulate bounded.
PAGE_USES = 50


class RenderTimeout(Exception):
    """The page took longer than the crawler's time limit to render; it was closed."""


class RenderDownloadHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        s = crawler.settings
        self._slots_total = max(1, s.getint("LINKPATROL_RENDER_PAGES", 1))
        self._slots = asyncio.Semaphore(self._slots_total)
        self.page_timeout = s.getfloat("LINKPATROL_RENDER_TIMEOUT", 30.0)
        self.resolver = resolver_of(crawler)
        policy = self.resolver.policy
        self.proxy = GuardProxy(self.resolver, self._refuse) if policy.enabled else None
        self.http = DownloadHandler(crawler, self.resolver)  # every request the browser does not load
        self._crawler_ref = crawler
        self._swept = time.monotonic()
        self.refused = 0
        self._sweeper: asyncio.Task[None] | None = None
        # Open pages free for the next page of the same crawl: context name -> [(page, navigations served)].
        self._idle: dict[str, list[tuple[Any, int]]] = {}

    # -- the address policy, for every request of every page --------------------------------------
    async def allowed(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        scheme = parts.scheme.lower()
        if scheme in LOCAL_SCHEMES:
            return True
        if scheme not in ("http", "https", "ws", "wss"):
            return False
        if not self.resolver.policy.enabled:
            return True
        host = (parts.hostname or "").rstrip(".").lower()
        return bool(host) and await self.resolver.host_allowed(host)

    async def download_request(self, request: Request) -> Response:
        if request.meta.get("playwright"):
            return await super().download_request(request)
        return await self.http.download_request(request)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self.http.close()

    def _refuse(self, url: str) -> None:
        self.refused += 1
        if self.stats is not None:
            self.stats.inc_value("linkpatrol/render/refused")
        logger.info("browser request to %s refused: the address is not allowed", url)

    def _make_request_handler(self, *args: Any, **kwargs: Any) -> Any:
        inner = super()._make_request_handler(*args, **kwargs)

        async def guarded(route: Any, request: Any) -> None:
            if not await self.allowed(request.url):
                self._refuse(request.url)
                with contextlib.suppress(Exception):
                    await route.abort("blockedbyclient")
                return
            await inner(route, request)
        return guarded

    async def _context_route(self, route: Any, request: Any) -> None:
        """Requests no page route sees (a dedicated worker's): the same policy."""
        if not await self.allowed(request.url):
            self._refuse(request.url)
            with contextlib.suppress(Exception):
                await route.abort("blockedbyclient")
            return
        with contextlib.suppress(Exception):
            await route.fallback()

    async def _websocket_route(self, ws: Any) -> None:
        if not await self.allowed(ws.url):
            self._refuse(ws.url)
            with contextlib.suppress(Exception):
                await ws.close(code=1008, reason="address not allowed")
            return
        ws.connect_to_server()

    async def _launch(self) -> None:
        if self.proxy is not None:  # before the browser starts: it is launched with the proxy's port
            port = await self.proxy.start()
            self.config.launch_options["proxy"] = {"server": f"http://127.0.0.1:{port}"}
        await super()._launch()
        self._sweeper = asyncio.create_task(self._sweep_every())

    async def _sweep_every(self) -> None:
        """Contexts of crawls that ended are closed even while nothing is rendered."""
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            try:
                await self._sweep_contexts()
            except Exception:  # a sweep is housekeeping: the next one tries again
                logger.exception("could not close the browser contexts of ended crawls")

    async def _close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        await super()._close()
        if self.proxy is not None:
            await self.proxy.close()

    # -- contexts and pages --------------------------------------------------------------------------
    async def _create_browser_context(self, name: str, context_kwargs: dict[str, Any] | None,
                                      spider: Any = None) -> BrowserContextWrapper:
        wrapper = await super()._create_browser_context(name, context_kwargs, spider)
        context = wrapper.context
        await context.route("**/*", self._context_route)
        await context.route_web_socket(re.compile(".*"), self._websocket_route)
        return wrapper

    async def _create_page(self, request: Request, spider: Any) -> Any:
        page = await super()._create_page(request, spider)
        job = request.meta.get("lp_render")
        if isinstance(job, RenderJob):
            job.page = page
        page.on("popup", _close_quietly)
        return page

    async def _download_request(self, request: Request, spider: Any = None) -> Response:
        # While the page waits for one of the process's render slots its lease clock keeps being renewed,
        # as for a request waiting for the shared politeness: the lease bound counts the rendering only.
        frontier = self._frontier()
        lp = request.meta.get("lp")
        key = (lp["crawl"], lp["url"]) if lp and frontier is not None else None
        if key is not None and frontier is not None:
            frontier.leases.book.waiting.add(key)
        try:
            await self._slots.acquire()
        finally:
            if key is not None and frontier is not None:
                frontier.leases.book.waiting.discard(key)
        job = request.meta.get("lp_render")
        context = str(request.meta.get("playwright_context") or "")
        uses = 0
        try:
            await self._sweep_contexts()
            if isinstance(job, RenderJob):
                uses = self._reuse(request, job, context)
            response = await asyncio.wait_for(self._rendered(request, spider), self.page_timeout)
        except TimeoutError:
            if isinstance(job, RenderJob) and job.page is not None:
                await _close_quietly(job.page)
            raise RenderTimeout(f"not rendered within {self.page_timeout:g} s") from None
        except BaseException:
            if isinstance(job, RenderJob) and job.page is not None:  # kept open for reuse: closed on failure
                await _close_quietly(job.page)
            raise
        finally:
            self._slots.release()
        if isinstance(job, RenderJob):
            await self._give_back(job, context, uses + 1)
        return response

    def _reuse(self, request: Request, job: RenderJob, context: str) -> int:
        """Hand the request an open page of its crawl's context, if one is free; it is kept open after
        (``playwright_include_page``) for the next. Returns the navigations it served already."""
        request.meta["playwright_include_page"] = True
        idle = self._idle.get(context) or []
        while idle:
            page, uses = idle.pop()
            if not page.is_closed():
                request.meta["playwright_page"] = page
                job.page = page
                return uses
        return 0

    async def _give_back(self, job: RenderJob, context: str, uses: int) -> None:
        """The page is free again: its job's event handlers off, then kept for the crawl's next page,
        or closed (served ``PAGE_USES`` navigations, or as many pages are kept as render at once)."""
        page = job.page
        if page is None or page.is_closed():
            return
        for event, handler in job.handlers().items():
            with contextlib.suppress(Exception):
                page.remove_listener(event, handler)
        kept = sum(len(pages) for pages in self._idle.values())
        if uses >= PAGE_USES or kept >= self._slots_total or context not in self.context_wrappers:
            await _close_quietly(page)
            return
        self._idle.setdefault(context, []).append((page, uses))

    def _frontier(self) -> Any:
        from crawler.extensions.frontier import FrontierExtension  # the frontier imports the render package
        return self._crawler_ref.get_extension(FrontierExtension)

    async def _rendered(self, request: Request, spider: Any) -> Response:
        """The page rendered; once more in a browser started again when the browser died under it."""
        try:
            return await super()._download_request(request, spider)
        except PlaywrightError as exc:
            browser = getattr(self, "browser", None)
            if browser is not None and browser.is_connected():
                raise  # the page failed, not the browser
            logger.warning("the browser stopped (%s); starting it again for %s", str(exc).splitlines()[0],
                           request.url)
            if self.stats is not None:
                self.stats.inc_value("linkpatrol/render/browser_restarts")
            if browser is not None:  # its own "disconnected" event, still to come, must not forget the next one
                with contextlib.suppress(Exception):
                    browser.remove_listener("disconnected", self._browser_disconnected_callback)
                with contextlib.suppress(Exception):
                    await self._browser_disconnected_callback()  # contexts dropped, the browser forgotten
            return await super()._download_request(request, spider)

    async def _sweep_contexts(self) -> None:
        """Close the contexts of crawls this process no longer works for."""
        now = time.monotonic()
        if now - self._swept < SWEEP_EVERY:
            return
        self._swept = now
        frontier = self._frontier()
        if frontier is None:
            return
        for name, wrapper in list(self.context_wrappers.items()):
            if name.startswith(CONTEXT_PREFIX) and not frontier.contexts.is_active(name[len(CONTEXT_PREFIX):]):
                logger.info("closing the browser context of %s: the crawl ended", name)
                self._idle.pop(name, None)
                with contextlib.suppress(Exception):
                    await wrapper.context.close()


async def _close_quietly(page: Any) -> None:
    with contextlib.suppress(Exception):
        await page.close()
