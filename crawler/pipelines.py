"""Results into Redis, through the frontier extension: a checked url's links in bounded batches, then
one atomic call for its result, lease release and completion detection."""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy.crawler import Crawler

from crawler.extensions.frontier import FrontierExtension, frontier_of
from crawler.items import CheckedLink
from linkpatrol.model.wire import Completion

logger = logging.getLogger(__name__)


class FrontierPipeline:
    def __init__(self, crawler: Crawler, frontier: FrontierExtension) -> None:
        self.stats = crawler.stats
        self.frontier = frontier

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, frontier_of(crawler))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, CheckedLink):  # the spider yields nothing else (ItemAdapter cost 1% of CPU)
            return item
        crawl_id, result = item.crawl_id, item.result
        if item.release_only:
            await self.frontier.drop(crawl_id, result.url)
            return item
        links = item.links
        ended = await self.frontier.record(Completion(
            crawl_id, result, item.is_page, links, promoted=item.promoted, method=item.method,
            retries=item.retries, anchors=item.anchors, from_sitemap=item.from_sitemap),
            over_cap=item.links_over_cap, depth_limited=item.depth_limited, link_cap=item.link_cap)
        assert self.stats is not None
        self.stats.inc_value(f"linkpatrol/outcome/{result.outcome}")
        self.stats.inc_value("linkpatrol/links_found", len(links))
        if ended == 2:
            logger.info("crawl %s finished", crawl_id)
            self.stats.inc_value("linkpatrol/crawls_finished")
        return item
