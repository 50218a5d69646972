"""The downloader-middleware chain (``crawler/download/downloader.py``): what Scrapy's manager does with
each middleware's answer, in the same order, with the same errors, at a lower cost a call."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest
from scrapy import Request, Spider
from scrapy.core.downloader.middleware import DownloaderMiddlewareManager
from scrapy.downloadermiddlewares.defaultheaders import DefaultHeadersMiddleware
from scrapy.downloadermiddlewares.downloadtimeout import DownloadTimeoutMiddleware
from scrapy.downloadermiddlewares.useragent import UserAgentMiddleware
from scrapy.exceptions import _InvalidOutput
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.internet.defer import succeed

from crawler import settings
from crawler.download.downloader import Downloader, DownloaderMiddlewares

URL = "http://site.example/page"


class Recorder:
    """A middleware whose answers the test picks: None, a Response, a Request, a coroutine, a Deferred,
    something else; it writes down each call."""

    def __init__(self, name: str, calls: list[str], on_request: Any = None, on_response: Any = None) -> None:
        self.name, self.calls = name, calls
        self.on_request, self.on_response = on_request, on_response

    def process_request(self, request: Request) -> Any:
        self.calls.append(f"{self.name}.request")
        return self._answer(self.on_request, None)

    def process_response(self, request: Request, response: Response) -> Any:
        self.calls.append(f"{self.name}.response")
        return self._answer(self.on_response, response)

    def _answer(self, kind: Any, default: Any) -> Any:
        if kind == "coroutine":
            async def later() -> Any:
                await asyncio.sleep(0)
                return default
            return later()
        if kind == "deferred":
            return succeed(default)
        return default if kind is None else kind


class WantsSpider:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def process_request(self, request: Request, spider: Spider) -> None:  # a spider argument it requires
        self.calls.append(f"spider {spider.name}")


def run(manager_class: type[DownloaderMiddlewareManager], build: Any) -> tuple[list[str], Any, list[str]]:
    """(calls, the chain's result or its exception's type and message, warnings' first words)."""
    calls: list[str] = []
    crawler = get_crawler(Spider)
    crawler.spider = Spider("s")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = manager_class(*build(calls), crawler=crawler)

        async def download(request: Request) -> Response:
            calls.append("download")
            return Response(request.url, status=200)

        try:
            result: Any = asyncio.run(manager.download_async(download, Request(URL)))
            shown: Any = (type(result).__name__, result.url, getattr(result, "status", None))
        except Exception as exc:  # what the chain raises is part of what is compared
            shown = (type(exc).__name__, str(exc))
    return calls, shown, sorted({str(w.message).split(" ")[0] for w in caught})


CHAINS = {
    "all pass": lambda c: [Recorder("a", c), Recorder("b", c), Recorder("c", c)],
    "a response ends the requests": lambda c: [Recorder("a", c), Recorder("b", c, Response(URL, status=304)),
                                               Recorder("c", c)],
    "a request ends the chain": lambda c: [Recorder("a", c), Recorder("b", c, Request(URL + "?again"))],
    "awaited answers": lambda c: [Recorder("a", c, "coroutine", "coroutine"), Recorder("b", c, "deferred", "deferred")],
    "a response swapped on the way back": lambda c: [Recorder("a", c, on_response=Response(URL, status=404)),
                                                     Recorder("b", c)],
    "a request on the way back": lambda c: [Recorder("a", c, on_response=Request(URL + "?retry")), Recorder("b", c)],
    "a wrong answer to a request": lambda c: [Recorder("a", c, "not a response")],
    "a wrong answer to a response": lambda c: [Recorder("a", c, on_response=42)],
    "a method that requires the spider": lambda c: [WantsSpider(c), Recorder("a", c)],
}


@pytest.mark.parametrize("chain", CHAINS)
def test_the_chain_does_what_scrapys_does(chain: str) -> None:
    theirs = run(DownloaderMiddlewareManager, CHAINS[chain])
    ours = run(DownloaderMiddlewares, CHAINS[chain])
    assert ours == theirs
    assert theirs[0]  # the middlewares were called


def test_what_the_comparisons_saw() -> None:
    """The comparisons above are between chains that did something: a spider passed, a wrong answer
    refused, a Deferred warned about (Scrapy's deprecation, naming the method)."""
    calls, _, warned = run(DownloaderMiddlewares, CHAINS["a method that requires the spider"])
    assert calls[0] == "spider s" and warned == ["WantsSpider.process_request()"]
    _, refused, _ = run(DownloaderMiddlewares, CHAINS["a wrong answer to a request"])
    assert refused[0] == _InvalidOutput.__name__ and "got str" in refused[1]
    calls, answer, warned = run(DownloaderMiddlewares, CHAINS["awaited answers"])
    assert calls == ["a.request", "b.request", "download", "b.response", "a.response"]
    assert answer == ("Response", URL, 200) and any(w.endswith("Recorder.process_request") for w in warned)


def test_crawlers_download_through_it() -> None:
    assert settings.DOWNLOADER == "crawler.download.downloader.Downloader"
    crawler = get_crawler(Spider, {"DOWNLOADER_MIDDLEWARES_BASE": {}, "DOWNLOADER_MIDDLEWARES": {}})
    downloader = Downloader(crawler)
    assert type(downloader.middleware) is DownloaderMiddlewares


def test_scrapys_own_middlewares_are_called_without_their_spider_argument_check() -> None:
    """Scrapy wraps its own middlewares' methods in a check for a ``spider`` argument this chain never
    passes; the chain calls the methods themselves (two calls less each), with the same effect as
    Scrapy's manager, and no warning."""
    def chain(calls: list[str]) -> list[Any]:
        return [UserAgentMiddleware("agent/1"), DefaultHeadersMiddleware([("X-Seen", "yes")]),
                DownloadTimeoutMiddleware(7), Recorder("a", calls)]

    def sent(manager_class: type[DownloaderMiddlewareManager]) -> tuple[Any, ...]:
        crawler = get_crawler(Spider)
        crawler.spider = Spider("s")
        manager = manager_class(*chain([]), crawler=crawler)
        seen: list[Request] = []

        async def download(request: Request) -> Response:
            seen.append(request)
            return Response(request.url, status=200)

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            asyncio.run(manager.download_async(download, Request(URL)))
        [request] = seen
        return request.headers.to_unicode_dict(), request.meta.get("download_timeout")

    assert sent(DownloaderMiddlewares) == sent(DownloaderMiddlewareManager) == (
        {"User-Agent": "agent/1", "X-Seen": "yes"}, 7)
    crawler = get_crawler(Spider)
    ours = DownloaderMiddlewares(*chain([]), crawler=crawler)
    theirs = DownloaderMiddlewareManager(*chain([]), crawler=crawler)

    def wrapped(manager: DownloaderMiddlewareManager) -> int:
        return sum(hasattr(getattr(m, "__func__", m), "__wrapped__") for m in manager.methods["process_request"])

    assert wrapped(theirs) == 3 and wrapped(ours) == 0
