"""What a crawler reads of a running crawl before it works on it: the record's url, host, options and
start time, and the crawl's own request headers (secrets, kept in ``Keys.crawl_headers`` apart from the
record). The crawler keeps what it read per crawl (``crawler/frontier/contexts.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from linkpatrol.model.options import CrawlOptions
from linkpatrol.store.keys import Keys


@dataclass(frozen=True)
class RunningCrawl:
    id: str
    url: str
    host: str
    options: CrawlOptions
    started_at: float  # epoch seconds; 0 when the record has none
    headers: dict[str, str] = field(default_factory=dict)


class RunningCrawls:
    """Reads running crawls (asyncio client)."""

    def __init__(self, client: Any, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    async def read(self, crawl_id: str) -> RunningCrawl:
        """The crawl's record and headers, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(self.keys.crawl(crawl_id))
        pipe.hgetall(self.keys.crawl_headers(crawl_id))
        rec, headers = await pipe.execute()
        return RunningCrawl(crawl_id, rec.get("url", ""), rec.get("host", ""),
                            CrawlOptions.from_json(rec.get("options")), float(rec.get("started_at") or 0), headers)
