"""Results of links to other sites, shared by every crawl and crawler for a while (README, "What a
crawl does"): a link another crawl found ok within ``ttl`` seconds is not requested again.

Only what is certainly alive is kept: an ``ok`` result with a 2xx status decided by a GET (never a
HEAD believed, never a status a crawl's ``accept`` rule took as alive). Failures, 429, 5xx, timeouts
and network errors are never cached: they are checked again by every crawl. One string key with a TTL
per url (``Keys.link_cache``), so the cache is bounded by what the crawls of one TTL found. The
crawler's side is ``crawler/downloadermiddlewares/link_cache.py``.
"""

from __future__ import annotations

import time
from typing import Any

from linkpatrol.model.verdicts import CheckMethod, Outcome
from linkpatrol.model.wire import CachedCheck, LinkResult
from linkpatrol.store.keys import Keys

CACHED_METHODS = frozenset({CheckMethod.GET, CheckMethod.HEAD_GET})


def cacheable(result: LinkResult, method: CheckMethod) -> bool:
    """Whether a link's result may be shared: another site's, ok with a 2xx, decided by a GET."""
    return (result.external and result.outcome == Outcome.OK and result.status is not None
            and 200 <= result.status < 300 and not result.error and method in CACHED_METHODS)


class LinkCache:
    """The shared results, over one asyncio client."""

    def __init__(self, client: Any, keys: Keys, ttl: int) -> None:
        self.r = client
        self.keys = keys
        self.ttl = ttl

    async def get(self, url: str) -> CachedCheck | None:
        raw = await self.r.get(self.keys.link_cache(url))
        if not raw:
            return None
        try:
            cached = CachedCheck.decode(raw)
        except (ValueError, KeyError, TypeError):
            return None
        return cached if cached.result.url == url else None  # a digest shared by two urls: not this one

    async def put(self, result: LinkResult, crawl_id: str, now: float | None = None) -> None:
        entry = CachedCheck(result, crawl_id, time.time() if now is None else now)
        await self.r.set(self.keys.link_cache(result.url), entry.encode(), ex=self.ttl)


