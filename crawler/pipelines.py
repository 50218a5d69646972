"""Results into Redis, through the frontier extension: a checked url's links in bounded batches, then
one atomic call for its result, lease release and completion detection."""

from __future__ import annotations

import logging
from typing import Any, Self

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from crawler.extensions.frontier import FrontierExtension, frontier_of
from linkpatrol.verdicts import CheckMethod
from linkpatrol.wire import Completion

logger = logging.getLogger(__name__)


class FrontierPipeline:
    def __init__(self, crawler: Crawler, frontier: FrontierExtension) -> None:
        self.stats = crawler.stats
        self.frontier = frontier

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, frontier_of(crawler))

    async def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        if "crawl_id" not in adapter or "result" not in adapter:
            return item
        crawl_id, result = adapter["crawl_id"], adapter["result"]
        if adapter.get("release_only"):
            await self.frontier.drop(crawl_id, result.url)
            return item
        links = adapter.get("links") or []
        ended = await self.frontier.record(Completion(
            crawl_id, result, bool(adapter.get("is_page")), links, promoted=bool(adapter.get("promoted")),
            method=adapter.get("method") or CheckMethod.GET, retries=int(adapter.get("retries") or 0),
            anchors=adapter.get("anchors"), from_sitemap=bool(adapter.get("from_sitemap"))),
            over_cap=int(adapter.get("links_over_cap") or 0), depth_limited=bool(adapter.get("depth_limited")),
            link_cap=int(adapter.get("link_cap") or 0))
        assert self.stats is not None
        self.stats.inc_value(f"linkpatrol/outcome/{result.outcome}")
        self.stats.inc_value("linkpatrol/links_found", len(links))
        if ended == 2:
            logger.info("crawl %s finished", crawl_id)
            self.stats.inc_value("linkpatrol/crawls_finished")
        return item
