"""Results of links to other sites, shared by every crawl and crawler for a while (README, "What a
crawl does"): a link another crawl found ok within ``ttl`` seconds is not requested again.

Only what is certainly alive is kept: an ``ok`` result with a 2xx status decided by a GET (never a
HEAD believed, never a status a crawl's ``accept`` rule took as alive). Failures, 429, 5xx, timeouts
and network errors are never cached: they are checked again by every crawl. One string key with a TTL
per url (``Keys.link_cache``), bounded twice: by the TTL, and by count (``max_entries``,
LINKPATROL_LINK_CACHE_MAX): the order the entries were written in is kept beside them
(``Keys.link_cache_order``) and, past the bound, the entries written longest ago are dropped by the
same atomic call that writes one (``link_cache.lua``: a SET, a ZADD and at most a bounded batch of
drops; reads stay one GET). A dropped or expired entry reads as absent: the link is checked again.
The crawler's side is ``crawler/downloadermiddlewares/link_cache.py``.
"""

from __future__ import annotations

import time
from typing import Any

from linkpatrol.frontier import script
from linkpatrol.model.verdicts import CheckMethod, Outcome
from linkpatrol.model.wire import CachedCheck, LinkResult
from linkpatrol.store.keys import Keys

CACHED_METHODS = frozenset({CheckMethod.GET, CheckMethod.HEAD_GET})
# Entries kept at most by default (LINKPATROL_LINK_CACHE_MAX): at most about 700 bytes of Redis memory
# each, the order included (``python -m bench.link_cache``: a link redirected once), so about 70 MB.
DEFAULT_MAX = 100_000
DROPS_PER_CALL = 100


def cacheable(result: LinkResult, method: CheckMethod) -> bool:
    """Whether a link's result may be shared: another site's, ok with a 2xx, decided by a GET."""
    return (result.external and result.outcome == Outcome.OK and result.status is not None
            and 200 <= result.status < 300 and not result.error and method in CACHED_METHODS)


class LinkCache:
    """The shared results, over one asyncio client."""

    def __init__(self, client: Any, keys: Keys, ttl: int, max_entries: int = DEFAULT_MAX) -> None:
        self.r = client
        self.keys = keys
        self.ttl = ttl
        self.max_entries = max_entries  # 0: bounded by the TTL only
        self._share = client.register_script(script("link_cache"))

    async def get(self, url: str) -> CachedCheck | None:
        raw = await self.r.get(self.keys.link_cache(url))
        if not raw:
            return None
        try:
            cached = CachedCheck.decode(raw)
        except (ValueError, KeyError, TypeError):
            return None
        return cached if cached.result.url == url else None  # a digest shared by two urls: not this one

    async def put(self, result: LinkResult, crawl_id: str, now: float | None = None) -> int:
        """Share ``result``; the number of older entries dropped to keep the count bound."""
        entry = CachedCheck(result, crawl_id, time.time() if now is None else now)
        dropped = await self._share(keys=[self.keys.link_cache(result.url), self.keys.link_cache_order()],
                                    args=[entry.encode(), self.ttl, self.max_entries, repr(entry.at), DROPS_PER_CALL])
        return int(dropped)


