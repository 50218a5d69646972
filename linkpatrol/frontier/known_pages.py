"""Pages a site's earlier crawls read, for conditional re-reads (README, "What a crawl does").

Per site (``Keys.site_pages``): page url -> ``wire.KnownPage``, its validators and what its last full
read gave. A re-crawl asks for the page with ``If-None-Match`` / ``If-Modified-Since``; a 304 reuses the
links without downloading or parsing the page. A page is kept when it is read in full, never when it
is reused: its reuse is bounded by counting the site's crawls created since the crawl that read it
(``SiteHistory``), so an unchanged page costs one HGET a crawl and no write. At most ``cap`` pages are
kept per site (the ones read longest ago go first), written only for the site's own crawls, and
dropped with its last crawl (``CrawlStore.delete``). The crawler's side is
``crawler/downloadermiddlewares/conditional.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from linkpatrol.frontier import script
from linkpatrol.model.wire import MAX_KNOWN_PAGE, KnownPage
from linkpatrol.store.keys import Keys
from linkpatrol.store.start_queue import RAW

DROPS_PER_CALL = 100


@dataclass(frozen=True)
class SiteHistory:
    """What one crawl needs to know of its site, read once: whether the site keeps any page, when the
    crawl was created, and when the site's newest crawls up to it were (``every`` of them at most)."""

    has_pages: bool
    created: float
    recent: tuple[float, ...]

    def crawls_since(self, read_at: float) -> int:
        """The site's crawls created since a page was read at ``read_at``, this one included (at most
        ``every``: a page read by a crawl older than all of them, or pruned since, counts ``every``)."""
        return sum(1 for t in self.recent if t > read_at)


class KnownPages:
    """The known pages of every site, over one asyncio client."""

    def __init__(self, client: Any, keys: Keys, cap: int) -> None:
        self.r = client
        self.keys = keys
        self.cap = cap
        self._remember = client.register_script(script("remember"))

    async def history(self, crawl_id: str, site_url: str, every: int) -> SiteHistory:
        """The crawl's ``SiteHistory`` (two round trips, once per crawl)."""
        pipe = self.r.pipeline(transaction=False)
        pipe.exists(self.keys.site_pages(site_url))
        pipe.hget(self.keys.crawl(crawl_id), "created_at")
        has_pages, created = await pipe.execute()
        created_at = float(created or time.time())
        recent = await self.r.zrevrangebyscore(self.keys.site_crawls(site_url), repr(created_at), "-inf",
                                               start=0, num=every, withscores=True) if has_pages else []
        return SiteHistory(bool(has_pages), created_at, tuple(score for _, score in recent))

    async def get(self, site_url: str, page_url: str) -> KnownPage | None:
        """The page as its last full read left it, if kept (an entry that does not decode is none)."""
        raw = await self.r.execute_command("HGET", self.keys.site_pages(site_url), page_url, **RAW)
        if not raw:
            return None
        try:
            return KnownPage.decode(raw)
        except ValueError:
            return None

    async def put(self, crawl_id: str, site_url: str, page_url: str, page: KnownPage,
                  now: float | None = None) -> bool:
        """Keep ``page`` (False: too large to keep, or the crawl is no site's)."""
        blob = page.encode()
        if len(blob) > MAX_KNOWN_PAGE:
            return False
        k = self.keys
        stored = await self._remember(
            keys=[k.site_crawls(site_url), k.site_pages(site_url), k.site_pages_order(site_url)],
            args=[crawl_id, page_url, blob, repr(time.time() if now is None else now), self.cap, DROPS_PER_CALL])
        return bool(stored)
