"""A leased frontier message becomes a Scrapy request, or the url's item straight away when its verdict
needs no request (an invalid url, a scheme we do not fetch, a url the crawl's rules exclude, a host the
crawl already knows is dead). The request's ``lp`` meta says what its answer is read for; the
callback named by the message reads it that way.

(Not ``requests.py``: run as a script from ``crawler/``, that name would hide the ``requests``
library from everything that imports it.)"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.frontier.contexts import CrawlContext
from crawler.frontier.host_verdicts import HostVerdicts
from crawler.items import CheckedLink
from crawler.results import decided
from linkpatrol.model.urls import InvalidURL, host_of, normalize_url
from linkpatrol.model.verdicts import CheckMethod, ErrorKind
from linkpatrol.model.wire import FrontierMessage, MessageKind

logger = logging.getLogger(__name__)


class LeasedRequest(Request):
    """The request for a url of the frontier. Scrapy passes every request url through w3lib's
    ``safe_url_string`` (about 4% of a crawler's CPU); a frontier url is ``normalize_url``'s output
    (cached: the extraction normalised it a moment ago), which ``safe_url_string`` returns unchanged
    (tests/core/test_urls.py), so it is taken as it is. Any other url, a redirect's target among
    them (``replace`` keeps the class), is escaped as Scrapy escapes it."""

    def _set_url(self, url: str) -> None:
        if isinstance(url, str) and _normal(url):
            self._url = url
        else:
            super()._set_url(url)


def _normal(url: str) -> bool:
    try:
        return normalize_url(url) == (url, "")
    except InvalidURL:
        return False


@dataclass(frozen=True)
class Callbacks:
    """The spider's callbacks, one per way an answer is read (Scrapy wants them to be its methods)."""

    checked: Callable[[Response], Any]  # status and headers only
    page: Callable[[Response], Any]  # a page or a stylesheet of the site, parsed for its links
    seed: Callable[[Response], Any]  # the first page of a crawl that reads sitemaps
    sitemap: Callable[[Response], Any]
    anchors: Callable[[Response], Any]  # another host's page, read for its anchors only
    error: Callable[[Failure], Any]

    def reading(self, msg: FrontierMessage, parse: bool, anchors_only: bool, sitemap: bool,
                ctx: CrawlContext) -> Callable[[Response], Any]:
        if sitemap:
            return self.sitemap
        if parse and msg.depth == 0 and msg.kind is MessageKind.PAGE and ctx.options.sitemaps:
            return self.seed
        if parse:
            return self.page
        return self.anchors if anchors_only else self.checked


def work_for(ctx: CrawlContext, msg: FrontierMessage, host_verdicts: HostVerdicts,
             callbacks: Callbacks) -> Request | CheckedLink:
    """``request_for``, whose failure (a bug, a url no rule expected) is the url's verdict: raised to
    the spider's ``start()``, it would end it, and this crawler would lease nothing any more."""
    try:
        return request_for(ctx, msg, host_verdicts, callbacks)
    except Exception:
        logger.exception("could not make a request of %s", msg.url)
        try:
            external = not ctx.in_scope(host_of(msg.url))
        except Exception:
            external = False
        return decided(ctx.id, msg.url, ErrorKind.INVALID_URL, external)


def request_for(ctx: CrawlContext, msg: FrontierMessage, host_verdicts: HostVerdicts,
                callbacks: Callbacks) -> Request | CheckedLink:
    url = msg.url
    host = host_of(url)
    external = not ctx.in_scope(host)
    if msg.kind is MessageKind.INVALID_URL:
        return decided(ctx.id, url, ErrorKind.INVALID_URL, external)
    if msg.kind is MessageKind.UNSUPPORTED:
        return decided(ctx.id, url, ErrorKind.UNSUPPORTED_SCHEME, external)
    if ctx.excluded(url):
        return decided(ctx.id, url, ErrorKind.EXCLUDED_BY_RULE, external)
    verdict = host_verdicts.verdict(ctx.id, host)
    if verdict is not None:
        return decided(ctx.id, url, verdict, external, CheckMethod.HOST)
    # Every in-scope target may be a page: whichever element found it first (a <link rel=next> in
    # a head often comes before the body's anchors), an HTML answer is parsed. A check is only
    # parsed within the crawl's depth; it takes its place in the page budget when recorded.
    sitemap = msg.kind is MessageKind.SITEMAP
    page = msg.kind is MessageKind.PAGE and not external
    parse = not external and not sitemap and (page or ctx.depth_allows(msg.depth))
    # Fragments checked everywhere: another host's HTML page is read to the end for its anchors.
    anchors_only = external and not sitemap and ctx.options.check_fragments == "all"
    head = external and ctx.head_first and not anchors_only and not sitemap
    meta: dict[str, Any] = {
        "lp": {"crawl": ctx.id, "url": url, "depth": msg.depth, "page": page, "parse": parse,
               "anchors": anchors_only, "sitemap": sitemap, "external": external, "cap": ctx.max_page_bytes},
    }
    if not ctx.options.respect_robots:
        meta["dont_obey_robotstxt"] = True
    try:
        return LeasedRequest(
            url,
            method="HEAD" if head else "GET",
            callback=callbacks.reading(msg, parse, anchors_only, sitemap, ctx),
            errback=callbacks.error,
            meta=meta,
            dont_filter=True,
        )
    except ValueError:
        return decided(ctx.id, url, ErrorKind.INVALID_URL, external)
