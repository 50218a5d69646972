"""One page being rendered: what the browser showed besides the document's HTML, and how it becomes links.

A ``RenderJob`` rides in the request's meta (``lp_render``) through scrapy-playwright's handler. Its
page method (``settle``) runs after the page loaded: it waits until the network is quiet (at most
``settle`` seconds), serialises what ``page.content()`` leaves out (the open shadow roots), and visits
the page's hash routes (``#/...``, ``#!...``: at most ``routes``), keeping what each shows. Its event
handlers note the navigation's own answer (the HTML as the server sent it) and every request of the
page that failed: an answer of 400 or more, or none at all.

In the spider, ``merged`` turns that into the page's links: the rendered document's, the shadow roots'
and routes', and the failed requests' (checked like any link, so they are problems of this page);
a link the HTML as sent does not hold is marked ``AFTER_SCRIPTS`` in its element.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from scrapy.http import HtmlResponse, Response

from crawler.extract import Link, PageScan, make_link, scan_page

# A crawl's browser context is named this plus its id: its cookies and storage kept apart from other
# crawls'. Here, not in the handler, so that a crawler that never renders never imports playwright.
CONTEXT_PREFIX = "crawl-"

logger = logging.getLogger(__name__)

AFTER_SCRIPTS = " (found after scripts ran)"
MAX_FAILED = 200  # failed requests of one page kept
MAX_EXTRA = 4 * 1024 * 1024  # characters of shadow roots and route views kept per page
QUIET = 0.25  # seconds without a request of the page in flight: it settled

# The open shadow roots of the document, each as an HTML fragment (nested ones too), and the page's
# hash routes (same-document links whose fragment starts with / or !).
COLLECT_JS = """() => {
  const shadows = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) { shadows.push(el.shadowRoot.innerHTML); walk(el.shadowRoot); }
    }
  };
  walk(document);
  const here = location.href.split('#')[0];
  const routes = [];
  for (const a of document.querySelectorAll('a[href]')) {
    const url = a.href;
    if (url.split('#')[0] !== here) continue;
    const hash = url.slice(here.length);
    if ((hash.startsWith('#/') || hash.startsWith('#!')) && !routes.includes(hash)) routes.push(hash);
  }
  return {shadows, routes};
}"""
BODY_JS = "() => document.body ? document.body.outerHTML : ''"


@dataclass
class FailedRequest:
    url: str
    kind: str  # the resource type: script, image, fetch, xhr, stylesheet...
    status: int | None  # None: no answer


@dataclass
class RenderJob:
    """What rendering one page found besides its document (see the module's docstring)."""

    reason: str
    settle: float = 2.0  # seconds at most to wait for the network to go quiet after load
    routes: int = 10  # hash routes visited at most
    static_body: bytes = b""
    static_encoding: str = "utf-8"
    extras: list[str] = field(default_factory=list)
    failed: list[FailedRequest] = field(default_factory=list)
    blocked: int = 0  # requests the address policy refused
    page: Any = None  # the Playwright page while it is open (closed by the handler on every path)
    inflight: int = 0  # requests of the page under way

    # -- in the browser -------------------------------------------------------------------------------
    def handlers(self) -> dict[str, Any]:
        return {"request": self.on_request, "requestfinished": self.on_finished, "response": self.on_response,
                "requestfailed": self.on_failed}

    def on_request(self, request: Any) -> None:
        self.inflight += 1

    def on_finished(self, request: Any) -> None:
        self.inflight = max(0, self.inflight - 1)

    async def on_response(self, response: Any) -> None:
        request = response.request
        try:
            if request.is_navigation_request() and request.frame == request.frame.page.main_frame \
                    and not self.static_body and response.status < 300:
                self.static_body = await response.body()
                self.static_encoding = _charset(await response.header_value("content-type")) or "utf-8"
                return
        except Exception:  # the body is gone (the page navigated on): nothing to compare with
            logger.debug("no static body of %s", response.url)
            return
        if response.status >= 400 and not request.is_navigation_request():
            self._failed(request.url, request.resource_type, response.status, request.method)

    def on_failed(self, request: Any) -> None:
        self.inflight = max(0, self.inflight - 1)
        if not request.is_navigation_request():
            self._failed(request.url, request.resource_type, None, request.method)

    def _failed(self, url: str, kind: str, status: int | None, method: str) -> None:
        # Only what a GET can check again: a POST answering 500 may answer a GET otherwise.
        if method == "GET" and url.startswith(("http://", "https://")) and len(self.failed) < MAX_FAILED:
            self.failed.append(FailedRequest(url, kind, status))

    async def settle_and_collect(self, page: Any) -> None:
        """The page method: wait for quiet, then keep shadow roots and hash-route views."""
        self.page = page
        await self._quiet(page, self.settle)
        found = await page.evaluate(COLLECT_JS)
        self._keep(found.get("shadows", []))
        if found.get("routes"):  # the page ends on its last route: its first view is kept as it was
            self._keep([await page.evaluate(BODY_JS)])
        for route in found.get("routes", [])[: self.routes]:
            with contextlib.suppress(Exception):
                await page.evaluate("(h) => { location.hash = h; }", route)
                await self._quiet(page, min(self.settle, 1.0))
                self._keep([await page.evaluate(BODY_JS)])
                self._keep((await page.evaluate(COLLECT_JS)).get("shadows", []))

    async def _quiet(self, page: Any, seconds: float) -> None:
        """Wait until no request of the page was under way for ``QUIET`` seconds, at most ``seconds``
        (a page that polls or streams for ever is read as it is then). Playwright's "networkidle"
        waits 500 ms of silence; a quarter of that covers a fetch and the DOM it fills."""
        deadline = time.monotonic() + seconds
        quiet_since = time.monotonic()
        while (now := time.monotonic()) < deadline:
            if self.inflight:
                quiet_since = now
            elif now - quiet_since >= QUIET:
                return
            await asyncio.sleep(0.05)

    def _keep(self, fragments: list[str]) -> None:
        size = sum(len(x) for x in self.extras)
        for fragment in fragments:
            if isinstance(fragment, str) and fragment and size + len(fragment) <= MAX_EXTRA:
                self.extras.append(fragment)
                size += len(fragment)

    # -- in the spider ------------------------------------------------------------------------------
    def merged(self, scan: PageScan, response: Response, limit: int) -> PageScan:
        """``scan`` (the rendered document's) with the shadow roots', the routes' and the failed
        requests' links, each link the static HTML lacks marked ``AFTER_SCRIPTS``."""
        page = response.url.split("#", 1)[0]
        seen = {(link.target, link.fragment) for link in scan.links}
        links = list(scan.links)
        if self.extras:
            doc = "<html><body>" + "\n".join(f"<div>{x}</div>" for x in self.extras) + "</body></html>"
            extra = scan_page(HtmlResponse(response.url, body=doc.encode(), encoding="utf-8"), limit)
            scan.anchors |= extra.anchors
            for link in extra.links:
                if (link.target, link.fragment) not in seen and len(seen) < limit:
                    seen.add((link.target, link.fragment))
                    links.append(link)
        for failed in self.failed:
            made = make_link(page, failed.url, failed.kind, "", False)
            if made is not None and (made.target, made.fragment) not in seen and len(seen) < limit:
                seen.add((made.target, made.fragment))
                links.append(replace(made, text=f"requested by the page's scripts ({failed.kind})"))
        static: set[str] = set()
        if self.static_body:
            static = {link.target for link in scan_page(HtmlResponse(
                response.url, body=self.static_body, encoding=self.static_encoding), limit).links}
        scan.links = [link if link.target in static or link.same_page else _marked(link) for link in links]
        return scan


def _marked(link: Link) -> Link:
    return replace(link, element=link.element + AFTER_SCRIPTS)


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"').strip()
    return None


def render_job(response: Response) -> RenderJob | None:
    """The job of a rendered answer, None for one fetched as it is."""
    job = response.meta.get("lp_render") if "playwright" in response.flags else None
    return job if isinstance(job, RenderJob) else None
