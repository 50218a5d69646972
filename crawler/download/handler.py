"""The crawler's HTTP(S) download handler: Scrapy's aiohttp handler, owned and configured here.

Why: Twisted's HTTP client and the bridges between Twisted and asyncio took about 18% of a crawler's
CPU; on asyncio's own client a crawl of the 2,000-page benchmark costs about 14% less CPU and time
(docs/ARCHITECTURE.md). And the address policy now holds where the connection is made: the connector
resolves names with ``GuardedResolver`` (``crawler/download/resolver.py``), which refuses a name any of
whose addresses the policy refuses and hands the connector only the addresses it checked; an IP
literal, which aiohttp connects to without a resolver, is judged here before the request.

What it does as Scrapy's HTTP/1.1 handler did (each with a test in tests/crawler/test_download_handler.py):
certificates verified (``DOWNLOAD_VERIFY_CERTIFICATES``); no redirect followed, nothing decompressed
(``DecodedSizeMiddleware`` decodes with caps), no cookie jar (``CrawlCookiesMiddleware``); the URL sent as
Scrapy normalised it (yarl re-encodes nothing); ``download_timeout`` and ``download_maxsize`` per request,
a Content-Length past the max cancelling the download (``too-large``), except where no body follows (a
HEAD, a 304): its Content-Length describes a body that never comes; connections pooled up to
``CONCURRENT_REQUESTS`` in all and ``CONCURRENT_REQUESTS_PER_DOMAIN`` per host.

Failures leave it as Scrapy's exceptions where Scrapy has one (a timeout, a name that does not resolve,
a refused connection: ``DownloadTimeoutError``, ``CannotResolveHostError``,
``DownloadConnectionRefusedError``), any other failure to connect (TLS included) as
``DownloadFailedError`` raised from aiohttp's, and what breaks a connection once made as aiohttp's own
(``ServerDisconnectedError``, ``ClientOSError``: aiohttp has sent the GET or HEAD a second time already);
a body cut short is Scrapy's ``ResponseDataLossError``, which ``RETRY_EXCEPTIONS`` retries.
``crawler/failures.py`` names them all.

A proxy (``meta["proxy"]``) is supported as Scrapy's is; its name is resolved, and judged, like any other.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import ssl
import weakref
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aiohttp
import yarl
from aiohttp.client_proto import ResponseHandler
from aiohttp.client_reqrep import ConnectionKey
from scrapy import Request, signals
from scrapy.core.downloader.handlers._aiohttp import AiohttpDownloadHandler, _ClientResponse
from scrapy.core.downloader.handlers._base_streaming import BaseStreamingDownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    UnsupportedURLSchemeError,
)
from scrapy.http import Response
from scrapy.utils._download_handlers import check_stop_download, make_response
from scrapy.utils.ssl import _make_ssl_context

from crawler.download.resolver import GuardedResolver, resolver_of
from crawler.failures import NotAllowedAddress

logger = logging.getLogger(__name__)

# Statuses whose answers have no body whatever their headers say (RFC 9110, 6.4.1).
NO_BODY_STATUSES = frozenset({204, 304})
# aiohttp's limits on an answer's head are 8190 bytes a line and 128 headers; Twisted's, which crawls
# met for years, 16 kB a line and none on the count. A site's big Content-Security-Policy is no failure.
MAX_LINE = 16 * 1024
MAX_HEADERS = 1000


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, which also closes, when it closes, the TLS connections it let go earlier.

    Why: a connection whose answer said ``Connection: close`` is closed when the answer is read; over TLS
    that close sends the server a close_notify and waits for the server's, up to asyncio's 30 s. aiohttp
    forgets it meanwhile (its own tracking, ``enable_cleanup_closed``, runs only on Python 3.13.0), so a
    handler closed before a slow or silent server answers left its socket open: a ResourceWarning at the
    next garbage collection, in whatever code runs then. The connector keeps those transports weakly
    (each is gone once its shutdown ends) and aborts the ones still waiting."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shutting_down: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()

    def _release(self, key: ConnectionKey, protocol: ResponseHandler, *, should_close: bool = False) -> None:
        transport = protocol.transport
        super()._release(key, protocol, should_close=should_close)
        if key.is_ssl and transport is not None and transport.is_closing():
            self._shutting_down.add(transport)

    def _close(self, *, abort_ssl: bool = False) -> list[Awaitable[object]]:
        waiters = super()._close(abort_ssl=abort_ssl)
        for transport in list(self._shutting_down):
            transport.abort()  # type: ignore[attr-defined]  # a Transport's; BaseTransport names only close
        self._shutting_down.clear()
        return waiters


class DownloadHandler(AiohttpDownloadHandler):
    experimental: ClassVar[bool] = False  # ours, tested here: no warning at every start

    def __init__(self, crawler: Crawler, resolver: GuardedResolver | None = None) -> None:
        # Not AiohttpDownloadHandler.__init__: it builds a session without our resolver and limits.
        BaseStreamingDownloadHandler.__init__(self, crawler)
        self.resolver = resolver or resolver_of(crawler)
        # Made at the first request over TLS (loading the system's certificates: about 25 ms of every
        # crawler's start, which a crawl of plain-http sites, an intranet's or a CI job's, never needs).
        self._tls_context: ssl.SSLContext | None = None
        connector = _Connector(
            local_addr=self._bind_address,
            limit=self._pool_size_total,
            limit_per_host=self._pool_size_per_host,
            resolver=self.resolver,
            use_dns_cache=False,  # the resolver keeps names itself, for the address guard too
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            response_class=_ClientResponse,
            # Only the headers Scrapy's request holds: none of aiohttp's defaults.
            skip_auto_headers=("Accept", "Accept-Encoding", "Content-Type", "User-Agent"),
            max_line_size=MAX_LINE,
            max_field_size=MAX_LINE,
            max_headers=MAX_HEADERS,
        )

    @asynccontextmanager
    async def _make_request(self, request: Request, timeout: float) -> AsyncIterator[_ClientResponse]:
        host = urlsplit(request.url).hostname or ""
        try:
            self.resolver.check_host(host)  # an IP literal never reaches the resolver
            # encoded=True: the URL as Scrapy normalised it; yarl would re-encode its path and query.
            url = yarl.URL(request.url, encoded=True)
            proxy = self._extract_proxy_url_with_creds(request)
            async with await self._session.request(
                request.method,
                url,
                data=request.body or None,  # b"" would send "Content-Length: 0" with a GET
                headers=_sent_headers(request),
                timeout=aiohttp.ClientTimeout(total=timeout),
                # The context serves the site's TLS and an https proxy's; a plain connection has no use of it.
                ssl=self._tls() if url.scheme == "https" or (proxy is not None and proxy.lower().startswith("https:"))
                else True,
                allow_redirects=False,
                proxy=proxy,
            ) as response:
                yield response  # type: ignore[misc]  # response_class makes it one
        except NotAllowedAddress:
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("linkpatrol/ssrf/refused_at_connect")
            logger.info("not fetching %s: %s is or resolves to an address that is not allowed", request.url, host)
            raise
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors
            raise DownloadTimeoutError(f"Getting {request.url} took longer than {timeout} seconds.") from exc
        except (aiohttp.InvalidUrlClientError, aiohttp.NonHttpUrlClientError) as exc:
            raise UnsupportedURLSchemeError(str(exc)) from exc
        except aiohttp.ClientConnectorDNSError as exc:
            raise CannotResolveHostError(str(exc)) from exc
        except aiohttp.ClientConnectorError as exc:  # the connection was never made
            if exc.errno == errno.ECONNREFUSED:
                raise DownloadConnectionRefusedError(str(exc)) from exc
            raise DownloadFailedError(str(exc)) from exc

    def _tls(self) -> ssl.SSLContext:
        if self._tls_context is None:
            self._tls_context = _make_ssl_context(self.crawler.settings)
        return self._tls_context

    async def close(self) -> None:
        await self._session.close()
        await asyncio.sleep(0)  # what the connector aborted finishes closing: no socket outlives the handler
        await self.resolver.close()  # a lookup still under way is not left pending when the loop ends

    async def _read_response(self, response: _ClientResponse, request: Request) -> Response:
        if request.method != "HEAD" and response.status not in NO_BODY_STATUSES:
            return await super()._read_response(response, request)
        # No body follows: no size to check, none to read (Twisted's handler read these as length 0).
        headers = self._extract_headers(response)
        stop = check_stop_download(signals.headers_received, self.crawler, request, headers=headers, body_length=0)
        return make_response(**self._build_base_response_args(response, request, headers), stop_download=stop)


def _sent_headers(request: Request) -> list[tuple[str, str]]:
    """The request's headers as aiohttp takes them, one pair per value, without Proxy-Authorization:
    what Scrapy's ``_request_headers(request).to_tuple_list()`` gives, read from the stored (already
    normalised) keys and values instead of through a copy that normalises each again (7 µs a request)."""
    encoding = request.headers.encoding
    return [(key.decode(encoding), value.decode(encoding))
            for key, values in dict.items(request.headers) if key != b"Proxy-Authorization" for value in values]
