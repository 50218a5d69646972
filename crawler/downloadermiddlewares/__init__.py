"""Downloader middlewares: one module per policy, each a thin wrapper over a plain function."""

from __future__ import annotations

from typing import Self

from scrapy.crawler import Crawler

from crawler.extensions.frontier import FrontierExtension, frontier_of


class FrontierMiddleware:
    """A middleware that asks the frontier extension about a request's crawl."""

    def __init__(self, frontier: FrontierExtension) -> None:
        self.frontier = frontier

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(frontier_of(crawler))
