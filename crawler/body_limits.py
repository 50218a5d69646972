"""How much of an answer's body is read, decided while it arrives (Scrapy's ``headers_received`` and
``bytes_received`` signals): nothing more of a body nobody will parse, up to the crawl's size cap of
one that will be, the first few kilobytes of a sitemap probe. A body is read to its end only when its
reader needs it; a check needs only the status line and headers."""

from __future__ import annotations

from typing import Any

from scrapy import Request, signals
from scrapy.exceptions import StopDownload
from scrapy.signalmanager import SignalManager

from crawler.frontier.contexts import CrawlContexts
from crawler.media_types import is_css, is_html
from linkpatrol.model.urls import host_of

# Bodies up to this size are read to the end even when nobody parses them (see ``on_headers``).
SMALL_BODY = 64 * 1024


class BodyLimits:
    """The two signal handlers, with the running crawls they ask whether a url is in a crawl's site.
    The state of a download lives in its request's meta (``lp``: the crawl's cap, the bytes so far,
    ``truncated``; ``lp_probe``: a probe's limit), so one instance serves every crawl."""

    def __init__(self, contexts: CrawlContexts) -> None:
        self.contexts = contexts

    def connect(self, manager: SignalManager) -> None:
        # Scrapy's signals hold bound methods weakly: whoever connects keeps this object.
        manager.connect(self.on_headers, signal=signals.headers_received)
        manager.connect(self.on_bytes, signal=signals.bytes_received)

    def on_headers(self, headers: Any, body_length: int, request: Request, spider: Any) -> None:
        """Cut every download short that we will not parse: checks, and parse candidates that turn
        out not to be HTML or to live outside the crawl's site (after a redirect)."""
        lp = request.meta.get("lp")
        if not lp and request.meta.get("lp_probe") and isinstance(body_length, int) and \
                0 <= body_length <= SMALL_BODY:
            request.meta["lp_probe"] = 0  # a small probe is read to the end (see below)
        if not lp or request.method != "GET":
            return
        if isinstance(body_length, int) and 0 <= body_length <= SMALL_BODY:
            # Read small bodies to the end. Stopping one that already arrived with its headers closes
            # a connection the client may just have put back in its pool as reusable: the next request
            # on it fails and is sent again (seen as two GETs of one link with Twisted's client).
            return
        ctype = headers.get(b"Content-Type")
        if lp["sitemap"] or (lp["anchors"] and is_html(ctype)):
            return
        if not lp["parse"] or not (is_html(ctype) or is_css(ctype)) or \
                not self.contexts.in_scope(lp["crawl"], host_of(request.url)):
            raise StopDownload(fail=False)

    def on_bytes(self, data: bytes, request: Request, spider: Any) -> None:
        """Stop reading a page at the crawl's size cap: what arrived is parsed, the page is a warning.
        A probe (``lp_probe``: the bytes ``/sitemap.xml`` is sniffed by) stops at its few kilobytes."""
        lp = request.meta.get("lp")
        if not lp and request.meta.get("lp_probe"):
            request.meta["lp_probe_bytes"] = request.meta.get("lp_probe_bytes", 0) + len(data)
            if request.meta["lp_probe_bytes"] >= request.meta["lp_probe"]:
                raise StopDownload(fail=False)
            return
        if not lp or not (lp["parse"] or lp["anchors"] or lp["sitemap"]):
            return
        lp["bytes"] = lp.get("bytes", 0) + len(data)
        if lp["bytes"] > lp["cap"]:
            lp["truncated"] = True
            raise StopDownload(fail=False)
