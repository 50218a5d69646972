"""A request's way through the engine and the scraper as our crawlers take it (crawler/engine.py,
crawler/scraping.py): the engine Scrapy's crawler built, and the scraper that engine built, given their
lean subclasses when the spider opens, before any request is taken. The same objects (their slots,
downloader, middlewares and pipelines untouched), with the few methods of their subclasses. An engine
or scraper of another class than Scrapy's own (a test's, another project's) is left as it is."""

from __future__ import annotations

from typing import Self

from scrapy import signals
from scrapy.core.engine import ExecutionEngine
from scrapy.core.scraper import Scraper
from scrapy.crawler import Crawler

from crawler.engine import LeanEngine
from crawler.scraping import LeanScraper


class LeanPath:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    def spider_opened(self) -> None:
        engine = self.crawler.engine
        if engine is None:
            return
        if type(engine) is ExecutionEngine:
            engine.__class__ = LeanEngine
        if type(engine.scraper) is Scraper:
            engine.scraper.__class__ = LeanScraper
