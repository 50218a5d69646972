"""Retries 429 and 503 answers after the wait the server asks for (bounded), then lets the answer
through, marked so the spider reports the link as rate limited rather than dead."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Coroutine
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | None, now: float | None = None) -> float | None:
    """Parse a Retry-After header: delta seconds or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def get_rate_limit_retry(request: Request, response: Response, *, retries: int, max_wait: float,
                         default_wait: float) -> tuple[Request, float] | None:
    """For a 429 or 503: the request to send again and how long to wait first, or None when the
    answer stands (another status, or the retries are spent). Marks the request when the server
    sent a Retry-After, which makes a 503 count as rate limited."""
    if response.status not in (429, 503):
        return None
    wait = retry_after_seconds(response.headers.get(b"Retry-After"))
    if wait is not None:
        request.meta["lp_retry_after"] = True
    tries = request.meta.get("lp_rate_retries", 0)
    if tries >= retries:
        return None
    meta = dict(request.meta)
    meta["lp_rate_retries"] = tries + 1
    return request.replace(meta=meta, dont_filter=True), min(max_wait, wait if wait is not None else default_wait)


class RetryAfterMiddleware:
    def __init__(self, retries: int, max_wait: float, default_wait: float) -> None:
        self.retries = retries
        self.max_wait = max_wait
        self.default_wait = default_wait

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        return cls(
            s.getint("LINKPATROL_RATE_LIMIT_RETRIES"),
            s.getfloat("LINKPATROL_RETRY_AFTER_MAX"),
            s.getfloat("LINKPATROL_RETRY_AFTER_DEFAULT"),
        )

    def process_response(self, request: Request, response: Response) -> Response | Coroutine[Any, Any, Request]:
        """The response, or (a 429 or 503 to retry) a coroutine that waits, then gives the retry: a plain
        method, so that the answers with nothing to wait for cost no coroutine."""
        retry = get_rate_limit_retry(request, response, retries=self.retries, max_wait=self.max_wait,
                                     default_wait=self.default_wait)
        if retry is None:
            return response
        again, delay = retry
        logger.debug("%s answered %s; retrying in %.1fs", request.url, response.status, delay)
        return _after(delay, again)


async def _after(delay: float, again: Request) -> Request:
    await asyncio.sleep(delay)
    return again
