"""Download failures: the exceptions our middlewares raise, and the one place that names a failure.

``error_kind()`` maps whatever the download handler (``crawler/download``: Scrapy's exceptions raised from
aiohttp's, aiohttp's own, the socket and ssl errors under them), a middleware or the browser raised to a
``linkpatrol.model.verdicts.ErrorKind``; the kind then says which outcome the link gets (``ErrorKind.outcome``).
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import aiohttp
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)

from linkpatrol.model.verdicts import ErrorKind


class TooManyRedirects(IgnoreRequest):
    """The redirect chain is longer than the limit."""


class RedirectLoop(IgnoreRequest):
    """A redirect points back to a url already in the chain."""


class CancelledCrawl(IgnoreRequest):
    """The crawl this request belongs to was cancelled or deleted."""


class NotAllowedAddress(IgnoreRequest):
    """The host resolves to an address the operator does not allow (loopback, private...)."""


class DecodedTooLarge(IgnoreRequest):
    """The answer decodes (gzip, deflate, br, zstd) to more than the crawl's size cap."""


class HostFailed(IgnoreRequest):
    """The crawl already knows this host's name does not resolve, or its port refuses connections."""

    def __init__(self, kind: ErrorKind, host: str) -> None:
        super().__init__(f"{host}: {kind} (decided for the whole host)")
        self.kind = kind


class UnsupportedRedirect(IgnoreRequest):
    """A redirect to a URL that is not http(s) (Scrapy would hand the 3xx itself to the spider, which
    would call the link ``dead 302``)."""

    def __init__(self, kind: ErrorKind, target: str) -> None:
        super().__init__(f"redirect to {target[:200]}: {kind.message}")
        self.kind = kind


# A certificate not trusted, expired or for another name, a handshake that failed.
TLS_FAILURES = (ssl.SSLError, aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch)
# The connection was made, then closed or reset before the answer (aiohttp.ClientConnectorError, an
# OSError too, is a connection never made).
CONNECTION_LOST = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionError)

# Failures that concern a whole host (name and port), not one url: decided once for the crawl.
HOST_KINDS = frozenset({ErrorKind.DNS, ErrorKind.REFUSED})


def _chain(exc: BaseException) -> list[Any]:
    """The exception with everything it wraps: causes and contexts (of a Twisted ``Failure``'s value too)."""
    seen: list[Any] = []
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        item = getattr(item, "value", item)  # a twisted Failure
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend(x for x in (item.__cause__, item.__context__) if x is not None)
        todo.extend(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))
    return seen


def _too_large(item: BaseException) -> bool:
    """An answer past a size cap: decoded past the crawl's, or a Content-Length past DOWNLOAD_MAXSIZE
    (the download handler cancels it). Told apart before the robots.txt rule, which reads the text of
    an IgnoreRequest, and this one names its url, robots.txt perhaps."""
    return isinstance(item, DecodedTooLarge) or (
        isinstance(item, DownloadCancelledError) and "larger than download max size" in str(item))


def error_kind(exc: BaseException) -> ErrorKind:
    """Name a download failure."""
    chain = _chain(exc)
    for item in chain:
        if _too_large(item):
            return ErrorKind.TOO_LARGE
        if isinstance(item, (HostFailed, UnsupportedRedirect)):
            return item.kind
        if isinstance(item, TooManyRedirects):
            return ErrorKind.TOO_MANY_REDIRECTS
        if isinstance(item, RedirectLoop):
            return ErrorKind.REDIRECT_LOOP
        if isinstance(item, NotAllowedAddress):
            return ErrorKind.ADDRESS_NOT_ALLOWED
        if isinstance(item, TLS_FAILURES):  # before "refused": a handshake fails on a connection made
            return ErrorKind.TLS
        if isinstance(item, IgnoreRequest) and "robots.txt" in str(item):
            return ErrorKind.ROBOTS
    for item in chain:
        if isinstance(item, (CannotResolveHostError, aiohttp.ClientConnectorDNSError, socket.gaierror)):
            return ErrorKind.DNS
        if isinstance(item, (DownloadConnectionRefusedError, ConnectionRefusedError)):
            return ErrorKind.REFUSED
        if isinstance(item, (DownloadTimeoutError, TimeoutError)):  # aiohttp's timeouts are TimeoutErrors
            return ErrorKind.TIMEOUT
    text = " ".join(str(item) for item in chain).lower()
    if "ssl" in text or "certificate" in text or "tls" in text:
        return ErrorKind.TLS
    for item in chain:
        if isinstance(item, (ResponseDataLossError, aiohttp.ClientPayloadError)):
            return ErrorKind.INCOMPLETE_RESPONSE
        if isinstance(item, CONNECTION_LOST) and not isinstance(item, aiohttp.ClientConnectorError):
            return ErrorKind.CONNECTION_RESET
    if "maximum size" in text or ("exceeded" in text and "size" in text):
        return ErrorKind.TOO_LARGE
    return ErrorKind.CONNECTION_FAILED
