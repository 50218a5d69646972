"""Cookies as a browser profile keeps them: one jar per crawl in each crawler process.

A site that sets a cookie and expects it back (a consent page that sends the visitor back to the
article, a login wall, a shop's session) answers the crawler as it answers a visitor. Scrapy's
CookieJar does the work, with the standard Domain, Path, Secure and expiry rules of
``http.cookiejar``; this middleware, in the place of Scrapy's CookiesMiddleware, keeps one jar per
crawl, so no cookie crosses from one crawl to another; bounds each jar; drops the jars of crawls no
longer running in this process; refuses a cookie for a public suffix as browsers do; and adds the
crawl's own ``Cookie`` header (its ``headers`` option) on requests to its site, beside what the jar
holds. Scrapy's middleware is not its base: importing it imports tldextract (and requests, urllib3)
at every crawler start, about 40 ms of it, for a lookup ours makes offline and only when a cookie
names a domain; and nothing here sets ``Request.cookies`` or ``dont_merge_cookies``, the rest of
what it reads. Values live in this process's memory only: never
in Redis, a report or a log (COOKIES_DEBUG, which would log them, is ignored).

It sits after the redirect and HEAD-fallback middlewares on the way out and before them on the way
back, so every hop of a redirect chain and every retried GET sends what the previous answer set.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from http.cookiejar import Cookie, DefaultCookiePolicy
from typing import Any, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.http.cookies import CookieJar
from scrapy.utils.httpobj import urlparse_cached

from crawler.downloadermiddlewares.site_headers import site_cookie
from crawler.extensions.frontier import frontier_of
from crawler.frontier.contexts import CrawlContexts
from linkpatrol.model.urls import host_of

# Name and value together: what browsers keep of one cookie (RFC 6265 section 6.1); longer ones are
# dropped, so a jar's size in bytes follows from its count.
MAX_COOKIE_BYTES = 4096
PRUNE_EVERY = 10.0  # seconds between two looks for jars of crawls no longer active here
# Set on a request whose answer changed the crawl's cookies (the redirect middleware reads it: a chain
# back to a URL it visited is no loop when an answer on the way set a cookie).
COOKIES_CHANGED = "lp_cookies_changed"


@functools.cache
def _suffixes() -> Any:
    import tldextract

    # The list bundled with tldextract, never fetched: Scrapy's own lookup downloads the Public Suffix
    # List (a blocking request in the reactor, tracebacks in the log when offline) at the first cookie.
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), include_psl_private_domains=True)


def is_public_suffix(domain: str) -> bool:
    """Whether ``domain`` is a public suffix (``co.uk``, ``github.io``): a cookie scoped to it would be
    sent to every site under it, so a browser keeps it only for that exact host."""
    return not _suffixes()(domain).domain


def joined_cookies(*headers: bytes | str | None) -> bytes | None:
    """One ``Cookie`` header of several (a browser sends one)."""
    parts = [h.encode("latin-1") if isinstance(h, str) else h for h in headers if h]
    return b"; ".join(parts) if parts else None


class CrawlJar(CookieJar):
    """A jar of at most ``limit`` cookies: past it, the one set longest ago goes first."""

    def __init__(self, limit: int) -> None:
        # DomainStrictNonDomain: a cookie set without a Domain attribute goes back to the host that set
        # it only (RFC 6265's host-only flag, as browsers do); the default policy sends it to subdomains.
        super().__init__(DefaultCookiePolicy(strict_ns_domain=DefaultCookiePolicy.DomainStrictNonDomain))
        self.limit = limit
        self._order: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    @property
    def empty(self) -> bool:
        """True when nothing was ever kept (cheap; ``len()`` walks every cookie)."""
        return not self._order

    def keep(self, cookie: Cookie, request: Request) -> tuple[bool, int]:
        """Store ``cookie`` if the rules allow it. Returns whether the jar changed (a new cookie or a
        new value) and how many older cookies it pushed out."""
        before = self._cookies.get(cookie.domain, {}).get(cookie.path, {}).get(cookie.name)
        self.set_cookie_if_ok(cookie, request)
        if self._cookies.get(cookie.domain, {}).get(cookie.path, {}).get(cookie.name) is not cookie:
            return False, 0  # refused: another site's domain, a path outside the request's
        key = (cookie.domain, cookie.path, cookie.name)
        self._order[key] = None
        self._order.move_to_end(key)
        evicted = 0
        while len(self._order) > self.limit:
            (domain, path, name), _ = self._order.popitem(last=False)
            with contextlib.suppress(KeyError):  # already expired or deleted by its site
                self.clear(domain, path, name)
            evicted += 1
        return before is None or before.value != cookie.value, evicted


class CrawlCookiesMiddleware:
    crawler: Crawler

    def __init__(self, contexts: CrawlContexts, max_cookies: int = 1000, stats: Any = None) -> None:
        self.contexts = contexts
        self.max_cookies = max_cookies
        self.stats = stats
        self.jars: defaultdict[Any, CookieJar] = defaultdict(lambda: CrawlJar(self.max_cookies))
        self._pruned = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        if not s.getbool("COOKIES_ENABLED"):
            raise NotConfigured
        o = cls(frontier_of(crawler).contexts, s.getint("LINKPATROL_COOKIES_PER_CRAWL", 1000), crawler.stats)
        o.crawler = crawler
        return o

    def process_request(self, request: Request, spider: Spider | None = None) -> Request | Response | None:
        crawl = self._crawl_of(request)
        if crawl is None:  # robots.txt, a sitemap probe: shared by every crawl, so no crawl's cookies
            request.headers.pop("Cookie", None)
            return None
        self._prune()
        own = self._own_cookie(crawl, request)
        jar = self.jars.get(crawl)
        if jar is None or (isinstance(jar, CrawlJar) and jar.empty):  # no cookies yet: no lookups
            if own:
                request.headers["Cookie"] = own
            else:
                request.headers.pop("Cookie", None)
            return None
        request.headers.pop("Cookie", None)
        jar.add_cookie_header(request)
        if own:
            request.headers["Cookie"] = joined_cookies(own, request.headers.get("Cookie"))
        return None

    def process_response(self, request: Request, response: Response, spider: Spider | None = None,
                         ) -> Request | Response:
        crawl = self._crawl_of(request)
        if crawl is None:
            return response
        request.meta[COOKIES_CHANGED] = False  # set anew on each answer (a retried request copies meta)
        if b"Set-Cookie" not in response.headers:
            return response
        jar = self.jars[crawl]
        self._process_cookies(jar.make_cookies(response, request), jar=jar, request=request)
        return response

    def _crawl_of(self, request: Request) -> str | None:
        """The request's crawl, whose jar it uses; None without one."""
        lp = request.meta.get("lp")
        if not lp:
            return None
        return str(lp["crawl"])

    def _own_cookie(self, crawl: str, request: Request) -> str | None:
        ctx = self.contexts.get(crawl)
        if ctx is None or not ctx.headers:
            return None
        return site_cookie(ctx.headers, ctx.in_scope(host_of(request.url)))

    def _prune(self) -> None:
        """Drop the jars of crawls that ended (or that this process no longer works for)."""
        now = time.monotonic()
        if now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        for crawl in [c for c in self.jars if not self.contexts.is_active(c)]:
            del self.jars[crawl]

    def _process_cookies(self, cookies: Iterable[Cookie], *, jar: CookieJar, request: Request) -> None:
        """Scrapy's rules (a cookie for a public suffix kept for the host that set it alone), with the
        suffix list read offline, oversized cookies dropped and the jar bounded."""
        host = (urlparse_cached(request).hostname or "").lower()
        for cookie in cookies:
            if len(cookie.name) + len(cookie.value or "") > MAX_COOKIE_BYTES:
                self._count("cookies/too_large")
                continue
            domain = cookie.domain.removeprefix(".")
            if cookie.domain_specified and is_public_suffix(domain):
                if domain != host:
                    continue  # Domain=co.uk set by shop.co.uk: for every shop, browsers refuse it
                cookie.domain = host
            if isinstance(jar, CrawlJar):
                changed, evicted = jar.keep(cookie, request)
                if changed:
                    request.meta[COOKIES_CHANGED] = True
                self._count("cookies/evicted", evicted)
            else:
                jar.set_cookie_if_ok(cookie, request)

    def _count(self, key: str, n: int = 1) -> None:
        if n and self.stats is not None:
            self.stats.inc_value(key, n)
