"""A request's lean way through the engine and the scraper (``crawler/engine.py``, ``crawler/scraping.py``):
for every shape a callback's output can take, and for downloads that fail, with or without an errback,
and a middleware that answers with another request, a crawl with ``LeanPath`` gives what one with Scrapy's
own engine and scraper gives (the items, the requests followed, the errors handled, logged, signalled
and counted, the warnings, every stat but the clock's), and the crawlers' engine and scraper are the lean
ones. Each crawl is a real one, in this process, of ``data:`` pages, through our downloader."""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from scrapy import Request, Spider, signals
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.http import Response
from twisted.internet.defer import Deferred, succeed

from crawler import settings as crawler_settings
from crawler.engine import LeanEngine
from crawler.scraping import LeanScraper

PAGE = "data:text/html,<p>hi</p>"


class Shapes(Spider):
    """One request a shape: what its callback returns is named by ``shape``."""

    name = "shapes"

    def __init__(self, shapes: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shapes = shapes

    async def start(self) -> AsyncIterator[Request]:
        for n, shape in enumerate(self.shapes):
            yield Request(f"{PAGE}{n}", callback=getattr(self, shape), cb_kwargs={"n": n}, dont_filter=True)
        async for request in self.start_failing():
            yield request

    async def one_item(self, response: Response, n: int) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"n": n, "shape": "one_item"}

    def plain_item(self, response: Response, n: int) -> dict[str, Any]:
        return {"n": n, "shape": "plain_item"}

    async def nothing(self, response: Response, n: int) -> None:
        return None

    async def raises(self, response: Response, n: int) -> dict[str, Any]:
        raise ValueError(f"callback {n} broke")

    def raises_at_once(self, response: Response, n: int) -> dict[str, Any]:
        raise KeyError(n)

    async def a_list(self, response: Response, n: int) -> list[dict[str, Any]]:
        return [{"n": n, "i": 0}, {"n": n, "i": 1}]

    def generator_that_breaks(self, response: Response, n: int) -> Iterator[dict[str, Any]]:
        yield {"n": n, "i": 0}
        raise RuntimeError("mid-way")

    async def async_generator(self, response: Response, n: int) -> AsyncIterator[dict[str, Any]]:
        yield {"n": n, "i": 0}
        yield {"n": n, "i": 1}

    async def a_request(self, response: Response, n: int) -> Request:
        return Request(f"{PAGE}followed{n}", callback=self.followed, cb_kwargs={"n": n}, dont_filter=True)

    def many_requests(self, response: Response, n: int) -> list[Request]:
        """Twelve requests at once: the scheduler holds them all when the engine next takes requests."""
        return [Request(f"{PAGE}many{n}-{i}", callback=self.followed, cb_kwargs={"n": n}, dont_filter=True)
                for i in range(12)]

    async def followed(self, response: Response, n: int) -> dict[str, Any]:
        return {"n": n, "shape": "followed"}

    def a_deferred(self, response: Response, n: int) -> Deferred[dict[str, Any]]:
        return succeed({"n": n, "shape": "a_deferred"})

    async def start_failing(self) -> AsyncIterator[Request]:
        """Downloads that fail (a scheme no handler takes), one with an errback, and one that a
        downloader middleware answers with another request."""
        yield Request("nowhere://a", callback=self.one_item, errback=self.failed, cb_kwargs={"n": 100})
        yield Request("nowhere://b", callback=self.one_item, cb_kwargs={"n": 101})
        yield Request(f"{PAGE}hop", callback=self.one_item, cb_kwargs={"n": 102}, dont_filter=True)

    def failed(self, failure: Any) -> dict[str, Any]:
        return {"n": failure.request.cb_kwargs["n"], "failed": type(failure.value).__name__}


class Hop:
    """A downloader middleware that answers the request for the ``hop`` page with another request."""

    def process_request(self, request: Request) -> Request | None:
        if request.url.endswith("hop"):
            return request.replace(url=f"{PAGE}landed", cb_kwargs={"n": 103})
        return None


class Watch:
    """A downloader middleware that notes how many requests the downloader holds as each one enters."""

    seen: list[int] = []

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> Watch:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        Watch.seen.append(len(self.crawler.engine.downloader.active))


class Counting:
    """A spider middleware that only counts what passes (its presence sends everything Scrapy's way)."""

    seen = 0

    def process_spider_output(self, response: Response, result: Any) -> Any:
        for value in result:
            Counting.seen += 1
            yield value

    async def process_spider_output_async(self, response: Response, result: Any) -> Any:
        async for value in result:
            Counting.seen += 1
            yield value


def crawl(shapes: list[str], lean: bool, caplog: pytest.LogCaptureFixture, **more: Any) -> dict[str, Any]:
    """A crawl of one request per shape: what reached the pipeline (sorted: requests run concurrently),
    the errors signalled, the spider-error counts, the error lines logged, the warnings, the scraper."""
    items: list[Any] = []
    errors: list[str] = []

    def scraped(item: Any) -> None:
        items.append(item)

    def spider_error(failure: Any) -> None:
        errors.append(f"{type(failure.value).__name__}: {failure.value}")

    async def run() -> dict[str, Any]:
        extensions = {"crawler.extensions.lean_path.LeanPath": 0} if lean else {}
        runner = AsyncCrawlerRunner({"TWISTED_REACTOR_ENABLED": False, "LOG_LEVEL": "INFO", "EXTENSIONS": extensions,
                                     "CONCURRENT_ITEMS": crawler_settings.CONCURRENT_ITEMS,
                                     "SPIDER_MIDDLEWARES_BASE": crawler_settings.SPIDER_MIDDLEWARES_BASE,
                                     "DOWNLOADER": crawler_settings.DOWNLOADER,
                                     "DOWNLOADER_MIDDLEWARES": {f"{__name__}.Hop": 500},
                                     "TELNETCONSOLE_ENABLED": False, **more})
        crawler = runner.create_crawler(Shapes)
        crawler.signals.connect(scraped, signal=signals.item_scraped)
        crawler.signals.connect(spider_error, signal=signals.spider_error)
        await runner.crawl(crawler, shapes=shapes)
        assert crawler.stats is not None and crawler.engine is not None
        counts = {k: v for k, v in (crawler.stats.get_stats() or {}).items()
                  if not k.endswith(("_time", "time_seconds")) and not k.startswith(("memusage", "log_count/INFO"))}
        return {"engine": type(crawler.engine).__name__, "scraper": type(crawler.engine.scraper).__name__,
                "counts": counts}

    caplog.clear()
    with warnings.catch_warnings(record=True) as warned, caplog.at_level(logging.ERROR):
        warnings.simplefilter("always")
        found = asyncio.run(run())
    logged = sorted(r.getMessage().split(" (referer")[0] for r in caplog.records if r.levelno >= logging.ERROR)
    deprecated = {re.sub(" at 0x[0-9a-f]+", "", str(w.message)) for w in warned if "Deferred" in str(w.message)}
    return {**found, "items": sorted(items, key=repr), "errors": sorted(errors),
            "logged": logged, "warned": sorted(deprecated)}


ALL_SHAPES = ["one_item", "plain_item", "nothing", "raises", "raises_at_once", "a_list", "generator_that_breaks",
              "async_generator", "a_request", "a_deferred"]


def test_every_output_shape_ends_as_with_scrapys_scraper(caplog: pytest.LogCaptureFixture) -> None:
    theirs, ours = crawl(ALL_SHAPES, lean=False, caplog=caplog), crawl(ALL_SHAPES, lean=True, caplog=caplog)
    assert [theirs.pop(k) for k in ("engine", "scraper")] == ["ExecutionEngine", "Scraper"]
    assert [ours.pop(k) for k in ("engine", "scraper")] == ["LeanEngine", "LeanScraper"]
    assert ours == theirs
    # one_item, plain_item, two of a_list, one of the broken generator, two async, followed; for the
    # Deferred, its dict's keys: Scrapy iterates what a Deferred gives (a quirk of a deprecated shape,
    # kept); the failed download's errback; the page the middleware sent the hop to.
    assert len(ours["items"]) == 12 and ours["items"].count("n") == 1
    assert {"n": 100, "failed": "NotSupported"} in ours["items"] and {"n": 103, "shape": "one_item"} in ours["items"]
    assert ours["errors"] == ["KeyError: 4", "RuntimeError: mid-way", "ValueError: callback 3 broke"]
    counts = ours["counts"]
    assert {k: v for k, v in counts.items() if k.startswith("spider_exceptions")} == {
        "spider_exceptions/count": 3, "spider_exceptions/KeyError": 1, "spider_exceptions/RuntimeError": 1,
        "spider_exceptions/ValueError": 1}
    assert counts["response_received_count"] == 12 and counts["item_scraped_count"] == 12
    spider_errors = [line for line in ours["logged"] if line.startswith("Spider error processing")]
    assert len(spider_errors) == 3 and len(ours["logged"]) == 4  # and the download nobody caught
    assert len(ours["warned"]) == 1  # the Deferred a callback returned


def test_with_a_spider_middleware_everything_goes_scrapys_way(caplog: pytest.LogCaptureFixture) -> None:
    Counting.seen = 0
    found = crawl(["one_item", "a_list"], lean=True, caplog=caplog,
                  SPIDER_MIDDLEWARES={f"{__name__}.Counting": 500})
    # one_item, a_list's two, the hop's page (each counted by the middleware) and the errback's item
    assert found["scraper"] == "LeanScraper" and len(found["items"]) == 5 and Counting.seen == 4


def test_the_lean_path_is_the_one_taken(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The crawlers' settings install it, and Scrapy still calls what it overrides: every request runs
    in LeanEngine's task and every response's callback is called the short way (were Scrapy to rename
    ``_start_scheduled_request`` or ``_scrape``, the equivalence above would hold with the lean path
    silently off; this would not)."""
    assert "crawler.extensions.lean_path.LeanPath" in crawler_settings.EXTENSIONS
    taken: Counter[str] = Counter()
    run_request, call = LeanEngine._run_request, LeanScraper._call

    async def counted_run(engine: LeanEngine, request: Request, fetching: Any) -> None:
        taken["request"] += 1
        await run_request(engine, request, fetching)

    def counted_call(scraper: LeanScraper, response: Response, request: Request) -> Any:
        taken["callback"] += 1
        return call(scraper, response, request)

    monkeypatch.setattr(LeanEngine, "_run_request", counted_run)
    monkeypatch.setattr(LeanScraper, "_call", counted_call)
    found = crawl(["one_item", "a_list", "a_request"], lean=True, caplog=caplog)
    # three pages, the followed one, the hop and the page it was sent to, two failed downloads: eight
    # requests; five responses, each through its callback
    assert found["counts"]["response_received_count"] == 5
    assert taken == {"request": 8, "callback": 5}


@pytest.mark.parametrize("lean", [False, True], ids=["scrapy", "lean"])
def test_the_engine_backs_out_when_the_downloader_is_full(caplog: pytest.LogCaptureFixture, lean: bool) -> None:
    """A request counts in the downloader from the moment the engine takes it, as in Scrapy's engine:
    with CONCURRENT_REQUESTS at 2, never more than two requests are in the downloader (its middlewares
    included), however many the scheduler holds. Counted when the task first ran, the engine took every
    request at once: a cancelled crawl then finished more than were in flight."""
    Watch.seen = []
    found = crawl(["many_requests"], lean=lean, caplog=caplog, CONCURRENT_REQUESTS=2,
                  DOWNLOADER_MIDDLEWARES={f"{__name__}.Hop": 500, f"{__name__}.Watch": 1})
    assert found["engine"] == ("LeanEngine" if lean else "ExecutionEngine")
    # the page, its twelve requests, the hop and its page, two failed downloads
    assert len(Watch.seen) == 17 and max(Watch.seen) == 2
