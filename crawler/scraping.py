"""From a response to the item pipeline: Scrapy's scraper, with a short path for what every crawler here does.

Each callback of ours (``LinksSpider``) returns one item, and no spider middleware is installed
(``SPIDER_MIDDLEWARES_BASE`` is empty). Yet for every response Scrapy's scraper
- calls the callback through ``call_spider_async``, which turns the coroutine it returns into a Deferred
  (``iterate_spider_output``: an asyncio Task and a Deferred) and back (``ensure_awaitable``);
- wraps what it gave in an async generator and a chain for the spider middlewares, which are none
  (``SpiderMiddlewareManager.scrape_response_async``);
- hands that to ``_parallel_asyncio``: a Queue, a Task that fills it and ``CONCURRENT_ITEMS`` worker Tasks,
to bring the one item to ``_process_spidermw_output_async``: seven asyncio Tasks and nine Deferred callbacks
a response, about a tenth of a crawler's CPU (``bench/profile.py``, in turns: docs/ARCHITECTURE.md, Speed).

``LeanScraper._scrape`` takes a response with no spider middleware installed the short way: the callback
called as ``call_spider_async`` calls it (pending I/O let through first, the request's callback or the
spider's ``parse``, its ``cb_kwargs``, the warning for a generator with a return value), a coroutine
awaited, and each value it gave sent to ``_process_spidermw_output_async`` in turn, as Scrapy's single
worker does with ``CONCURRENT_ITEMS = 1`` (crawler/settings.py). Errors are Scrapy's: one raised by the
callback goes to ``handle_spider_error`` (logged, ``spider_error``, counted). What the short way does not
take goes Scrapy's whole way: a failure (the errback), any spider middleware; and, from the callback,
a generator, an async one or any other lazy iterable (their errors come while they are read, which
Scrapy's ``iter_errback`` and ``aiter_errback`` handle), a Deferred (deprecated: Scrapy warns) or
several values with ``CONCURRENT_ITEMS`` above 1.

The engine builds its scraper itself (there is no setting for its class, as ``DOWNLOADER`` is for the
downloader), so ``LeanPath`` (``crawler.extensions.lean_path``) gives that scraper this class when the
spider opens, before any response: the same object, its pipelines and slot untouched, with one method
more of its own.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from scrapy.core.scraper import Scraper
from scrapy.exceptions import ScrapyDeprecationWarning
from scrapy.http import Request, Response
from scrapy.utils.defer import _process_pending_io, ensure_awaitable
from scrapy.utils.misc import arg_to_iter, warn_on_generator_with_return_value
from scrapy.utils.spider import iterate_spider_output
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure


class LeanScraper(Scraper):
    async def _scrape(self, result: Response | Failure, request: Request) -> None:
        if not isinstance(result, Response) or any(self.spidermw.methods.values()):
            await super()._scrape(result, request)
            return
        values: list[Any] | tuple[Any, ...] | None = None
        try:
            await _process_pending_io()
            output = self._call(result, request)
            if inspect.iscoroutine(output):
                output = await output
            if not isinstance(output, Deferred) and not hasattr(output, "__aiter__"):
                found = arg_to_iter(output)
                if isinstance(found, list | tuple) and (len(found) <= 1 or self.concurrent_items == 1):
                    values = found
            if values is None:  # not the short way's to read: Scrapy's, as call_spider_async ends
                output = await ensure_awaitable(iterate_spider_output(output))
        except Exception:
            self.handle_spider_error(Failure(), request, result)
            return
        if values is None:
            await self.handle_spider_output_async(output, request, result)
            return
        for value in values:
            await self._process_spidermw_output_async(value, result)

    def _call(self, response: Response, request: Request) -> Any:
        """The callback called, as ``call_spider_async`` calls it."""
        if getattr(response, "request", None) is None:
            response.request = request
        assert response.request is not None and self.crawler.spider is not None
        callback = response.request.callback or self.crawler.spider._parse
        warn_on_generator_with_return_value(self.crawler.spider, callback)
        output = callback(response, **response.request.cb_kwargs)
        if isinstance(output, Deferred):
            warnings.warn(f"{callback} returned a Deferred. Returning Deferreds from spider callbacks is deprecated.",
                          ScrapyDeprecationWarning, stacklevel=2)
        return output
