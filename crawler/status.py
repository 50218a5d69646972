"""What a response or a failure means for a link: an outcome and, for failures, a named error kind.

A result is an HTTP status or a named failure, never a made-up status code. Outcomes:

- ``ok``: 2xx after redirects (1xx and 3xx without a usable Location count as dead);
- ``dead``: 4xx except the ones below, 5xx, and every failure kind (dns, refused, timeout, tls, ...);
- ``blocked``: 401, 403 and 999 (answers that say "not you", not "not here");
- ``rate_limited``: 429, or 503 with a Retry-After, still there after the bounded retries;
- ``excluded``: robots.txt forbids the check;
- ``unsupported``: a scheme this checker does not fetch (ftp:, file:, ...).
"""

from __future__ import annotations

from typing import Any

from OpenSSL import SSL
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from twisted.internet import error as tx_error

BLOCKED_STATUSES = frozenset({401, 403, 999})


class TooManyRedirects(IgnoreRequest):
    """The redirect chain is longer than the limit."""


class RedirectLoop(IgnoreRequest):
    """A redirect points back to a url already in the chain."""


class CancelledCrawl(IgnoreRequest):
    """The crawl this request belongs to was cancelled or deleted."""


class NotAllowedAddress(IgnoreRequest):
    """The host resolves to an address the operator does not allow (loopback, private...)."""


def status_class(status: int | None) -> str:
    if status is None:
        return "error"
    if 200 <= status < 300:
        return "2xx"
    if 300 <= status < 400:
        return "3xx"
    if 400 <= status < 500:
        return "4xx"
    return "5xx"


def outcome_for_status(status: int, retry_after: bool = False) -> str:
    if 200 <= status < 300:
        return "ok"
    if status in BLOCKED_STATUSES:
        return "blocked"
    if status == 429 or (status == 503 and retry_after):
        return "rate_limited"
    return "dead"


def _chain(exc: BaseException) -> list[Any]:
    """The exception with everything it wraps: causes, contexts and Twisted's ``reasons`` lists."""
    seen: list[Any] = []
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        item = getattr(item, "value", item)  # a twisted Failure
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend(getattr(item, "reasons", None) or [])
        todo.extend(x for x in (item.__cause__, item.__context__) if x is not None)
        todo.extend(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))
    return seen


def error_kind(exc: BaseException) -> str:
    """Name a download failure. The kinds are part of the reports' vocabulary."""
    chain = _chain(exc)
    for item in chain:
        if isinstance(item, TooManyRedirects):
            return "too-many-redirects"
        if isinstance(item, RedirectLoop):
            return "redirect-loop"
        if isinstance(item, NotAllowedAddress):
            return "address-not-allowed"
        if isinstance(item, SSL.Error):
            return "tls"
    for item in chain:
        if isinstance(item, (CannotResolveHostError, tx_error.DNSLookupError)):
            return "dns"
        if isinstance(item, (DownloadConnectionRefusedError, tx_error.ConnectionRefusedError)):
            return "refused"
        if isinstance(item, (DownloadTimeoutError, tx_error.TimeoutError, TimeoutError)):
            return "timeout"
    text = " ".join(str(item) for item in chain).lower()
    if "ssl" in text or "certificate" in text or "tls" in text:
        return "tls"
    for item in chain:
        if isinstance(item, ResponseDataLossError):
            return "incomplete-response"
        if isinstance(item, (tx_error.ConnectionLost, tx_error.ConnectionDone, ConnectionError)):
            return "connection-reset"
    if "maximum size" in text or ("exceeded" in text and "size" in text):
        return "too-large"
    return "connection-failed"
