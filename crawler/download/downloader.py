"""Scrapy's downloader, with a middleware chain that costs less per request.

Every request goes through each downloader middleware's ``process_request`` and every answer through
each ``process_response``: about fifteen methods each way in a crawler. Scrapy's manager makes each
call dear for what it does: the method's full name formatted (``global_object_name``, for a warning
only a Deferred would need), a lookup of the method in the set of those that want a ``spider``
argument, and a coroutine made and awaited around every plain return value (``ensure_awaitable``).
Every middleware here returns at once, so that is most of the chain's cost: 27 µs against 10 µs a
request for fifteen middlewares in a microbenchmark.

``DownloaderMiddlewares`` keeps Scrapy's rules and messages: the methods in Scrapy's order, ``spider``
passed to a method that requires it, a Deferred or an awaitable returned by a method awaited through
Scrapy's ``ensure_awaitable`` (with its deprecation warning for a Deferred), an answer of the wrong type
refused with Scrapy's ``_InvalidOutput``, a Request or Response ending the chain. ``process_exception``
and the rest are Scrapy's. ``Downloader`` (``DOWNLOADER`` in crawler/settings.py) is Scrapy's with this
manager, built over the middlewares Scrapy's own manager instantiated.

Scrapy 2.19 wraps its own middlewares' methods (``_warn_spider_arg``) in a check that warns when a
``spider`` argument is passed: two more calls and a keyword dictionary for each of six methods a
request (1.7 µs a request for five of them in a microbenchmark, about 0.2% of a crawler's CPU), for a
warning this chain cannot trigger: it passes ``spider`` only to a method that requires it, which these
do not. The chain calls the methods themselves (``_unwrapped``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Coroutine
from types import MethodType
from typing import Any

from scrapy import Request
from scrapy.core.downloader import Downloader as ScrapyDownloader
from scrapy.core.downloader.middleware import DownloaderMiddlewareManager
from scrapy.crawler import Crawler
from scrapy.exceptions import _InvalidOutput
from scrapy.http import Response

from crawler.awaiting import awaited, to_await

# The wrappers ``scrapy.utils.decorators._warn_spider_arg`` makes, by their code's names (``functools.wraps``
# gives the wrapper the name of what it wraps).
_SPIDER_ARG_WRAPPERS = frozenset({"_warn_spider_arg.<locals>.sync_inner", "_warn_spider_arg.<locals>.async_inner"})


def _unwrapped(method: Callable[..., Any]) -> Callable[..., Any]:
    """A middleware's method without Scrapy's spider-argument check around it, bound to the same
    middleware; any other method as it is."""
    function = getattr(method, "__func__", None)
    if function is None or function.__code__.co_qualname not in _SPIDER_ARG_WRAPPERS \
            or not hasattr(function, "__wrapped__"):
        return method
    return MethodType(function.__wrapped__, method.__self__)  # type: ignore[attr-defined]


class DownloaderMiddlewares(DownloaderMiddlewareManager):
    def __init__(self, *middlewares: Any, crawler: Crawler | None = None) -> None:
        super().__init__(*middlewares, crawler=crawler)
        for kind in ("process_request", "process_response"):
            self.methods[kind] = deque(
                method if method is None or method in self._mw_methods_requiring_spider else _unwrapped(method)
                for method in self.methods[kind])

    async def _process_request(self, request: Request,
                               download_func: Callable[[Request], Coroutine[Any, Any, Response]],
                               ) -> Response | Request:
        wants_spider = self._mw_methods_requiring_spider
        for method in self.methods["process_request"]:
            assert method is not None
            if wants_spider and method in wants_spider:
                response = method(request=request, spider=self._spider)
            else:
                response = method(request=request)
            if to_await(response):
                response = await awaited(response, method)
            if response is not None and not isinstance(response, (Response, Request)):
                raise _InvalidOutput(f"Middleware {method.__qualname__} must return None, Response or "
                                     f"Request, got {response.__class__.__name__}")
            if response:
                return response
        return await download_func(request)

    async def _process_response(self, response: Response | Request, request: Request) -> Response | Request:
        if response is None:
            raise TypeError("Received None in process_response")
        if isinstance(response, Request):
            return response
        wants_spider = self._mw_methods_requiring_spider
        for method in self.methods["process_response"]:
            assert method is not None
            if wants_spider and method in wants_spider:
                response = method(request=request, response=response, spider=self._spider)
            else:
                response = method(request=request, response=response)
            if to_await(response):
                response = await awaited(response, method)
            if not isinstance(response, (Response, Request)):
                raise _InvalidOutput(f"Middleware {method.__qualname__} must return Response or Request, "
                                     f"got {type(response)}")
            if isinstance(response, Request):
                return response
        return response


class Downloader(ScrapyDownloader):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        # The same middleware objects, called through the cheaper chain.
        self.middleware = DownloaderMiddlewares(*self.middleware.middlewares, crawler=crawler)

    def fetch_async(self, request: Request) -> Coroutine[Any, Any, Response | Request]:
        """``fetch`` as a coroutine (``crawler.engine.LeanEngine`` awaits it): the same middlewares and
        slots, without its inlineCallbacks generator and the Deferred it makes of the chain. The request
        counts as active at once, as ``fetch`` counts it, not when the coroutine first runs: the engine
        stops taking requests when the downloader is full (``needs_backout``), and it asks before the
        tasks it just started have run."""
        self.active.add(request)
        return self._fetch(request)

    async def _fetch(self, request: Request) -> Response | Request:
        try:
            return await self.middleware.download_async(self._enqueue_request, request)
        finally:
            self.active.remove(request)
