"""Downloader middlewares: one module per policy, each a thin wrapper over a plain function."""

from __future__ import annotations

from typing import Self

from scrapy.crawler import Crawler

from crawler.extensions.frontier import frontier_of
from crawler.frontier.contexts import CrawlContexts


class CrawlContextMiddleware:
    """A middleware that asks what this process knows of a request's crawl (``CrawlContexts``)."""

    def __init__(self, contexts: CrawlContexts) -> None:
        self.contexts = contexts

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(frontier_of(crawler).contexts)
