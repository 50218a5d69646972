"""The crawler registry: every crawler process announces itself with a heartbeat key that has a TTL.

A crawler is listed while its heartbeat lives; one that died drops off within the TTL, and a peer's
reaper (``crawler/frontier/reaper.py``) puts its in-flight work back in the frontier.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from linkpatrol.store.keys import Keys


def list_crawlers(client: Any, keys: Keys) -> list[dict[str, Any]]:
    """Live crawler processes, oldest first: id, host, pid, started, last seen, requests done,
    requests held, last crawl worked on. A crawler whose heartbeat expired is not listed."""
    entries = client.hgetall(keys.crawlers)
    ids = sorted(entries)
    pipe = client.pipeline(transaction=False)
    for crawler in ids:
        pipe.exists(keys.crawler_alive(crawler))
    alive = pipe.execute()
    out = []
    for crawler, is_alive in zip(ids, alive, strict=True):
        if is_alive:
            out.append({"id": crawler, **json.loads(entries[crawler])})
    return sorted(out, key=lambda w: w.get("started", 0))


class Heartbeats:
    """One crawler's side of the registry (asyncio client): announce, keep alive, find dead peers."""

    def __init__(self, client: Any, keys: Keys, crawler_id: str, ttl: float) -> None:
        self.r = client
        self.keys = keys
        self.crawler_id = crawler_id
        self.ttl = ttl

    async def beat(self, info: dict[str, Any]) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.keys.crawler_alive(self.crawler_id), "1", px=int(self.ttl * 1000))
        pipe.hset(self.keys.crawlers, self.crawler_id, json.dumps(info))
        await pipe.execute()

    async def dead_peers(self) -> list[str]:
        """Registered crawlers whose heartbeat expired (this one excluded)."""
        others = [w for w in await self.r.hkeys(self.keys.crawlers) if w != self.crawler_id]
        if not others:
            return []
        pipe = self.r.pipeline(transaction=False)
        for w in others:
            pipe.exists(self.keys.crawler_alive(w))
        alive = await pipe.execute()
        return [w for w, is_alive in zip(others, alive, strict=True) if not is_alive]

    async def forget(self, crawler: str) -> None:
        await forget_crawler(self.r, self.keys, crawler)


async def live_descriptions(client: Any, keys: Keys, which: Callable[[str], bool] = lambda _: True) -> list[str]:
    """The JSON descriptions of the live crawlers (asyncio client) that ``which`` picks; only those
    picked are looked up."""
    entries = await client.hgetall(keys.crawlers)
    picked = [(crawler, info) for crawler, info in entries.items() if which(info)]
    if not picked:
        return []
    pipe = client.pipeline(transaction=False)
    for crawler, _ in picked:
        pipe.exists(keys.crawler_alive(crawler))
    return [info for (_, info), alive in zip(picked, await pipe.execute(), strict=True) if alive]


def forget_crawler(client: Any, keys: Keys, crawler_id: str) -> Any:
    """Drop a crawler from the registry (sync or asyncio client: with the latter, an awaitable)."""
    pipe = client.pipeline(transaction=False)
    pipe.hdel(keys.crawlers, crawler_id)
    pipe.delete(keys.crawler_alive(crawler_id))
    return pipe.execute()
