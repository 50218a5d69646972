"""Results into Redis: one atomic frontier call per checked url (result, new links, lease release,
completion detection)."""

from __future__ import annotations

import logging
import time
from typing import Any, Self

from scrapy.crawler import Crawler

from crawler.feeder import retrying
from crawler.items import CheckedLink
from crawler.status import status_class

logger = logging.getLogger(__name__)


class FrontierPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, CheckedLink):
            return item
        spider: Any = self.crawler.spider
        feeder = spider.feeder
        res = item.result
        crawl_id = item.crawl_id
        try:
            if item.release_only:
                await retrying("releasing a lease", lambda: feeder.r.hdel(feeder.keys.inflight(crawl_id), res.url))
                return item
            outcome = await retrying(
                "recording a result",
                lambda: feeder.scripts.complete(
                    crawl_id,
                    res.url,
                    res.to_json(),
                    res.outcome,
                    status_class(res.status),
                    is_page=item.is_page,
                    redirected=bool(res.redirects),
                    now=time.time(),
                    max_referrers=feeder.config.max_referrers,
                    max_pages=item.max_pages,
                    links=item.links,
                ),
            )
        finally:
            feeder.release(crawl_id, res.url)
        assert self.stats is not None
        self.stats.inc_value(f"linkpatrol/outcome/{res.outcome}")
        self.stats.inc_value("linkpatrol/links_found", len(item.links))
        if outcome == 2:
            logger.info("crawl %s finished", crawl_id)
            self.stats.inc_value("linkpatrol/crawls_finished")
        return item
