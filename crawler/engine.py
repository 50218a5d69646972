"""A request's way through Scrapy's engine as one asyncio task, not a chain of Deferreds.

For each request it takes from the scheduler, Scrapy's engine (``_start_scheduled_request``) builds a
Deferred with six callbacks around ``_download`` (an inlineCallbacks generator), which awaits the
downloader's ``fetch`` (another, around a Deferred made of a coroutine: an asyncio Task), then
``_handle_downloader_output`` (a third) hands the answer to the scraper's ``enqueue_scrape`` (a fourth),
whose queue runs the scrape in a Task of its own and reports back through one more Deferred. Reactorless
as our crawlers are, every one of those Deferreds is bridged to asyncio and back: with the scraper's
(crawler/scraping.py) about a sixth of a crawler's CPU went to moving one request along
(``bench/profile.py``, in turns: docs/ARCHITECTURE.md, Speed).

``LeanEngine._start_scheduled_request`` starts one Task per request that does the same steps in the same
order, awaited in turn: the request added to the slot and counted by the downloader at once (as
Scrapy's ``_download`` does before its first wait, so the engine backs out when the downloader is full),
the downloader's ``fetch_async`` awaited (``crawler.download.downloader.Downloader``: ``fetch`` as a
coroutine); for a response, the checks and
the ``crawled`` log line and ``response_received`` signal of ``_download``, a failure kept as the
Failure Scrapy passes on; a Request from a middleware scheduled (``crawl``); anything else scraped
through the scraper's own slot (queued, made active, finished, its closing checked), in this Task
rather than another; the request removed from the slot and the next call scheduled whatever happened.
The errors Scrapy logs are logged with its words: "Scraper bug processing", "Error while handling
downloader output". With a downloader that has no ``fetch_async`` (another DOWNLOADER), Scrapy's way.

The engine is built by Scrapy's crawler (no setting names its class), so ``LeanPath``
(``crawler.extensions.lean_path``) gives it this class when the spider opens, before any request is taken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from scrapy import signals
from scrapy.core.engine import ExecutionEngine
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.log import logformatter_adapter
from twisted.python.failure import Failure

# Scrapy's loggers, so that the lines read and filter the same.
engine_logger = logging.getLogger("scrapy.core.engine")
scraper_logger = logging.getLogger("scrapy.core.scraper")


class LeanEngine(ExecutionEngine):
    _request_tasks: set[asyncio.Task[None]]

    def _start_scheduled_request(self) -> bool:
        if not hasattr(self.downloader, "fetch_async"):
            return super()._start_scheduled_request()
        assert self._slot is not None
        request = self._slot.scheduler.next_request()
        if request is None:
            self.signals.send_catch_log(signals.scheduler_empty)
            return False
        if not hasattr(self, "_request_tasks"):
            self._request_tasks = set()
        # Counted at once, in the slot and in the downloader, as Scrapy's _download counts it before its
        # first wait: the engine's next look at whether to back out comes before this task runs.
        self._slot.add_request(request)
        fetching = self.downloader.fetch_async(request)  # type: ignore[attr-defined]
        task = asyncio.get_running_loop().create_task(self._run_request(request, fetching))
        self._request_tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._request_tasks.discard)
        return True

    async def _run_request(self, request: Request, fetching: Coroutine[Any, Any, Response | Request]) -> None:
        slot = self._slot
        assert slot is not None
        try:
            result = await self._fetched(request, fetching)
            if isinstance(result, Request):  # a downloader middleware's (a redirect's next hop)
                self.crawl(result)
                return
            await self._scraped(result, request)
        except Exception:
            engine_logger.info("Error while handling downloader output", exc_info=True, extra={"spider": self.spider})
        finally:
            slot.remove_request(request)
            slot.nextcall.schedule()

    async def _fetched(self, request: Request, fetching: Coroutine[Any, Any, Response | Request],
                       ) -> Response | Request | Failure:
        """``_download``'s steps: what the downloader gave, or the failure it raised."""
        assert self._slot is not None
        try:
            result = await fetching
            if not isinstance(result, (Response, Request)):
                raise TypeError(f"Incorrect type: expected Response or Request, got {type(result)}: {result!r}")
            if isinstance(result, Response):
                if result.request is None:
                    result.request = request
                assert self.spider is not None
                logkws = self.logformatter.crawled(result.request, result, self.spider)
                if logkws is not None:
                    engine_logger.log(*logformatter_adapter(logkws), extra={"spider": self.spider})
                self.signals.send_catch_log(signal=signals.response_received, response=result,
                                            request=result.request, spider=self.spider)
            return result
        except Exception:
            return Failure()
        finally:
            self._slot.nextcall.schedule()

    async def _scraped(self, result: Response | Failure, request: Request) -> None:
        """``enqueue_scrape``'s steps through the scraper's slot, the scrape run in this task. Every answer
        is taken off the scraper's queue as it comes, so the queue is empty here; were it not (or the
        scraper had no slot), Scrapy's own ``enqueue_scrape`` takes the answer, in its order."""
        scraper = self.scraper
        if scraper.slot is None or scraper.slot.queue:
            try:
                await maybe_deferred_to_future(scraper.enqueue_scrape(result, request))
            except Exception:
                engine_logger.error("Error while enqueuing scrape", exc_info=True, extra={"spider": self.spider})
            return
        scraper.slot.add_response_request(result, request)
        scraper.slot.next_response_request_deferred()
        try:
            await scraper._scrape(result, request)
        except Exception:
            scraper_logger.error("Scraper bug processing %(request)s", {"request": request}, exc_info=True,
                                 extra={"spider": self.spider})
        finally:
            scraper.slot.finish_response(result, request)
            scraper._check_if_closing()
            scraper._scrape_next()
