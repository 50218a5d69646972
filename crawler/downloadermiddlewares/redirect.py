"""Scrapy's redirect handling, with loops and over-long chains told apart for the report."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.http import Response

from crawler.failures import RedirectLoop, TooManyRedirects


def check_redirect(chain: list[str], target: str, hops_so_far: int, max_hops: int) -> None:
    """Raise RedirectLoop when ``target`` is already in ``chain`` (fragments ignored), and
    TooManyRedirects when following it would exceed ``max_hops``."""
    if target.split("#", 1)[0] in {u.split("#", 1)[0] for u in chain}:
        raise RedirectLoop(f"redirect loop back to {target}")
    if hops_so_far + 1 > max_hops:
        raise TooManyRedirects(f"more than {max_hops} redirects")


class LinkRedirectMiddleware(RedirectMiddleware):
    def handle_referer(self, request: Request, response: Response) -> None:
        """A link checker sends no Referer: the pages it reads are not the visitor's business."""
        request.headers.pop("Referer", None)

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        check_redirect([*request.meta.get("redirect_urls", []), request.url], redirected.url,
                       request.meta.get("redirect_times", 0), self.max_redirect_times)
        return super()._redirect(redirected, request, reason)
