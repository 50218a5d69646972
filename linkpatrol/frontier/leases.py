"""What a crawler reads and writes of the frontier's leases beside the scripts of ``linkpatrol.frontier``.

A lease is a url in a crawl's in-flight hash (``Keys.inflight``: url -> "crawler id\\nmessage", written
by POP) with a clock in ``Keys.lease_clock`` (started by POP, stopped by COMPLETE and REQUEUE). The
crawler side (``crawler/frontier``) keeps its own book of what it holds and calls these to find the
running crawls, the leases Redis says a crawler holds, to renew the clocks of leases still waiting their
turn, to drop a lease of a cancelled crawl, and to put a crawler's claimed start messages back.
``give_back_everything`` is the synchronous last resort of a crawler that must exit now.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from linkpatrol.frontier import Scripts
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import forget_crawler
from linkpatrol.store.start_queue import RAW


class LeaseStore:
    """The frontier's lease keys for one crawler process (asyncio client)."""

    def __init__(self, client: Any, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    async def active(self) -> set[str]:
        """The ids of the running crawls."""
        return set(await self.r.smembers(self.keys.active))

    async def held_by(self, crawl_id: str, crawler_id: str) -> list[str]:
        """The urls of ``crawl_id`` that Redis says ``crawler_id`` holds a lease of."""
        tag = crawler_id + "\n"
        return [url for url, value in (await self.r.hgetall(self.keys.inflight(crawl_id))).items()
                if value.startswith(tag)]

    async def renew_clocks(self, leases: Iterable[tuple[str, str]], now: float) -> None:
        """Restart the clocks of ``leases`` ((crawl id, url) pairs) at ``now``; a lease that finished
        meanwhile stays gone."""
        by_crawl: dict[str, dict[str, float]] = {}
        for crawl_id, url in leases:
            by_crawl.setdefault(crawl_id, {})[url] = now
        if not by_crawl:
            return
        pipe = self.r.pipeline(transaction=False)
        for crawl_id, clocks in by_crawl.items():
            pipe.zadd(self.keys.lease_clock(crawl_id), clocks, xx=True)
        await pipe.execute()

    async def drop(self, crawl_id: str, url: str) -> None:
        """Release a lease without recording anything (its crawl was cancelled)."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hdel(self.keys.inflight(crawl_id), url)
        pipe.zrem(self.keys.lease_clock(crawl_id), url)
        await pipe.execute()

    async def give_back_claimed(self, crawler_id: str) -> int:
        """Move the start messages ``crawler_id`` claimed back to the start queue; returns how many.
        As bytes (RAW): a message that is not UTF-8 goes back like any other, to become a dead letter
        when claimed again (decoded here, every reap moved one and failed with a traceback)."""
        claimed, n = self.keys.start_claimed(crawler_id), 0
        while await self.r.execute_command("LMOVE", claimed, self.keys.start, "RIGHT", "LEFT", **RAW) is not None:
            n += 1
        return n


def give_back_everything(client: Any, keys: Keys, crawler_id: str) -> int:
    """With a synchronous client: put back every lease and claimed start message of ``crawler_id`` and
    drop it from the crawler registry (a crawler that must exit now). Returns the leases and messages
    put back."""
    scripts = Scripts(client, keys)
    returned = sum(int(scripts.requeue(crawl_id, crawler_id)) for crawl_id in client.smembers(keys.active))
    while client.execute_command("LMOVE", keys.start_claimed(crawler_id), keys.start, "RIGHT", "LEFT",
                                 **RAW) is not None:
        returned += 1
    forget_crawler(client, keys, crawler_id)
    return returned
