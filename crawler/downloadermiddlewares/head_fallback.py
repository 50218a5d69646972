"""Retries a refused or mishandled HEAD as a GET (the body is cut short by the spider). The GET keeps
the HEAD's meta: its crawl, hence its cookie jar (the cookies the HEAD answer set go with it), and the
redirect chain so far."""

from __future__ import annotations

from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

# HEAD answers after which a GET is tried: servers that refuse or mishandle HEAD say one of these.
HEAD_FALLBACK_STATUSES = frozenset({400, 403, 404, 405, 406, 409, 410, 416, 500, 501, 502})


def get_head_fallback_request(request: Request, response: Response) -> Request | None:
    """The GET to send instead when a HEAD answer cannot be trusted, else None."""
    if request.method != "HEAD" or response.status not in HEAD_FALLBACK_STATUSES:
        return None
    meta = dict(request.meta)
    meta["lp_head_status"] = response.status
    return request.replace(method="GET", meta=meta, dont_filter=True)


class HeadFallbackMiddleware:
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def process_response(self, request: Request, response: Response) -> Request | Response:
        return get_head_fallback_request(request, response) or response
