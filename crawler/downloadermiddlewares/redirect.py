"""Scrapy's redirect handling, with loops, over-long chains and targets that are no web page told
apart for the report. A chain back to a URL it visited is a loop unless an answer on the way changed
the crawl's cookies: a consent page or a login wall that sets a cookie and sends the visitor back is
followed, as a browser follows it (the cookies themselves are ``crawl_cookies.py``'s)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.http import Response
from w3lib.url import safe_url_string

from crawler.downloadermiddlewares.crawl_cookies import COOKIES_CHANGED
from crawler.failures import RedirectLoop, TooManyRedirects, UnsupportedRedirect
from linkpatrol.model.verdicts import ErrorKind

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})  # the ones Scrapy follows
# Schemes a browser refuses as the target of a redirect, or cannot open at all: for a visitor the link
# is broken (``redirect-unsupported``, dead). Any other scheme (mailto:, tel:, ftp:, an app's own)
# is handed to another program, as a link to it would be: not checked (``unsupported-scheme``).
BROWSER_REFUSED = frozenset({"file", "data", "javascript", "vbscript", "about", "blob", "filesystem",
                             "view-source", "gopher"})


def check_redirect(chain: list[str], target: str, hops_so_far: int, max_hops: int,
                   cookies_changed: list[bool] | None = None) -> None:
    """Raise RedirectLoop when ``target`` was already requested in ``chain`` (fragments ignored) and
    no answer since then changed the crawl's cookies (``cookies_changed``: one flag per hop of
    ``chain``); TooManyRedirects when following it would exceed ``max_hops``."""
    url = target.split("#", 1)[0]
    changed_since = False
    for hop, changed in reversed(list(zip(chain, cookies_changed or [False] * len(chain), strict=True))):
        changed_since = changed_since or changed
        if not changed_since and hop.split("#", 1)[0] == url:
            raise RedirectLoop(f"redirect loop back to {target}")
    if hops_so_far + 1 > max_hops:
        raise TooManyRedirects(f"more than {max_hops} redirects")


def redirect_target_kind(target: str) -> ErrorKind | None:
    """The verdict on a redirect to ``target`` that is not followed: None for http(s), which is."""
    scheme = urlsplit(target).scheme.lower()
    if scheme in ("http", "https"):
        return None
    return ErrorKind.REDIRECT_UNSUPPORTED if scheme in BROWSER_REFUSED else ErrorKind.UNSUPPORTED_SCHEME


class LinkRedirectMiddleware(RedirectMiddleware):
    def _engine_started(self) -> None:
        """Scrapy's looks for the Referer spider middleware, which a link checker does not use (see
        handle_referer), and warns at every start that it is missing."""

    def handle_referer(self, request: Request, response: Response) -> None:
        """A link checker sends no Referer: the pages it reads are not the visitor's business."""
        request.headers.pop("Referer", None)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None,
                         ) -> Request | Response:
        location = response.headers.get(b"Location")
        if response.status in REDIRECT_STATUSES and location and not self._kept(request, response):
            target = urljoin(request.url, safe_url_string(location))
            kind = redirect_target_kind(target)
            if kind is not None:
                raise UnsupportedRedirect(kind, target)
        return super().process_response(request, response)

    def _kept(self, request: Request, response: Response) -> bool:
        """Whether Scrapy hands this answer to the spider unfollowed, as asked (its own conditions)."""
        meta = request.meta
        return bool(meta.get("dont_redirect") or meta.get("handle_httpstatus_all")
                    or response.status in meta.get("handle_httpstatus_list", ())
                    or response.status in getattr(self.crawler.spider, "handle_httpstatus_list", ()))

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        changed = [*request.meta.get("lp_redirect_cookies", []), bool(request.meta.get(COOKIES_CHANGED))]
        check_redirect([*request.meta.get("redirect_urls", []), request.url], redirected.url,
                       request.meta.get("redirect_times", 0), self.max_redirect_times, changed)
        redirected.meta["lp_redirect_cookies"] = changed
        redirected.meta.pop(COOKIES_CHANGED, None)
        return super()._redirect(redirected, request, reason)
