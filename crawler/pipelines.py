"""Results into Redis, through the frontier's recorder (``crawler/frontier/recording.py``): a checked
url's links in bounded batches, then one atomic call for its result, lease release and completion
detection. The item is the frontier's record (``crawler.items.CheckedLink``, a ``wire.Completion``):
nothing is copied on the way."""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy.crawler import Crawler

from crawler.extensions.frontier import frontier_of
from crawler.frontier.leases import Leasing
from crawler.frontier.recording import Recorder
from crawler.items import CheckedLink

logger = logging.getLogger(__name__)


class FrontierPipeline:
    def __init__(self, crawler: Crawler, recorder: Recorder, leases: Leasing) -> None:
        self.stats = crawler.stats
        self.recorder = recorder
        self.leases = leases

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        frontier = frontier_of(crawler)
        return cls(crawler, frontier.recorder, frontier.leases)

    async def process_item(self, item: Any) -> Any:
        # The spider yields nothing else; the item is read as it is (an ItemAdapter per item cost 1% of CPU).
        if not isinstance(item, CheckedLink):
            return item
        if item.release_only:
            await self.leases.drop(item.crawl_id, item.result.url)
            return item
        ended = await self.recorder.record(item)
        assert self.stats is not None
        self.stats.inc_value(f"linkpatrol/outcome/{item.result.outcome}")
        self.stats.inc_value("linkpatrol/links_found", len(item.links))
        if ended == 2:
            logger.info("crawl %s finished", item.crawl_id)
            self.stats.inc_value("linkpatrol/crawls_finished")
        return item
