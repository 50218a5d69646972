"""The crawl's own request headers (``headers``: an Authorization or a Cookie for a staging site):
sent to the crawl's site only, taken off any request that leaves it, also after a redirect. The
values are secrets: they live in their own Redis key, never in logs (this module logs nothing). A
``Cookie`` header is sent beside the cookies the site set during the crawl: the cookie middleware
(``crawl_cookies.py``) joins the two, with ``site_cookie``."""

from __future__ import annotations

from scrapy import Request

from crawler.downloadermiddlewares import CrawlContextMiddleware
from linkpatrol.model.urls import host_of


def apply_site_headers(request: Request, headers: dict[str, str], in_site: bool) -> None:
    """Set the crawl's headers on a request to its site; strip them from a request to anywhere else."""
    for name, value in headers.items():
        if in_site:
            request.headers[name] = value
        else:
            request.headers.pop(name, None)


def site_cookie(headers: dict[str, str], in_site: bool) -> str | None:
    """The crawl's own ``Cookie`` header (any spelling of its name), for a request to its site only."""
    if not in_site:
        return None
    return next((value for name, value in headers.items() if name.lower() == "cookie"), None)


class SiteHeadersMiddleware(CrawlContextMiddleware):
    def process_request(self, request: Request) -> None:
        lp = request.meta.get("lp")
        ctx = self.contexts.get(lp["crawl"]) if lp else None
        if ctx is not None and ctx.headers:
            apply_site_headers(request, ctx.headers, ctx.in_scope(host_of(request.url)))
