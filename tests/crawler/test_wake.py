"""Crawl starts, heard (crawler/frontier/wake.py): the crawler that starts a crawl announces it, and a
listening peer hears its id at once instead of at its next look at the running crawls. Real Redis."""

from __future__ import annotations

import asyncio

import redis

from crawler.frontier.wake import listen_for_crawl_starts
from linkpatrol.store.connection import async_client
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.start_queue import StartQueue


def test_a_started_crawl_is_heard_by_a_listening_peer(redis_url: str, rclient: redis.Redis,
                                                      store: CrawlStore) -> None:
    keys = Keys()
    crawl = store.create("http://site.example/")

    async def main() -> tuple[list[str], str | None]:
        client = async_client(redis_url)
        heard: list[str] = []
        got = asyncio.Event()

        def hear(crawl_id: str) -> None:
            heard.append(crawl_id)
            got.set()
        listener = asyncio.ensure_future(listen_for_crawl_starts(client, keys, hear))
        try:
            for _ in range(100):  # subscribed: the channel has a listener
                if dict(await client.pubsub_numsub(keys.crawl_events)).get(keys.crawl_events):
                    break
                await asyncio.sleep(0.05)
            queue = StartQueue(client, keys, "w1")
            started = None
            for raw in await queue.claim(10):  # the peer that takes the start message starts the crawl
                started = await queue.handle(raw)
            async with asyncio.timeout(5):
                await got.wait()
            return heard, started
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await client.aclose()

    heard, started = asyncio.run(main())
    assert started == crawl.id and heard == [crawl.id]
    assert store.require(crawl.id).state == "running"
