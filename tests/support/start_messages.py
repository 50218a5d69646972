"""Playing a crawler's part with the start queue: one message pushed, claimed and handled by the real
``linkpatrol.store.start_queue.StartQueue`` over an asyncio client, as the spider does it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from linkpatrol.store.connection import async_client
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.start_queue import StartQueue

T = TypeVar("T")


def handle_start_message(redis_url: str, raw: str, store: CrawlStore | None = None, keys: Keys | None = None,
                         worker: str = "w1") -> str | None:
    """The crawl id the message started (None for a bad message). The queue is emptied first: the
    store's own start messages are not the test's. ``store``: the retention the crawler applies."""
    keys = keys or Keys()

    async def handle() -> str | None:
        client = async_client(redis_url)
        try:
            queue = StartQueue(client, keys, worker, store)
            await client.delete(keys.start)
            await client.rpush(keys.start, raw)
            (claimed,) = await queue.claim(1)
            return await queue.handle(claimed)
        finally:
            await client.aclose()

    return asyncio.run(handle())


def with_start_queue(redis_url: str, body: Callable[[StartQueue], Awaitable[T]], worker: str = "w1",
                     keys: Keys | None = None) -> T:
    """Run ``body`` with a crawler's StartQueue (worker id ``worker``) over a fresh asyncio client."""

    async def run() -> T:
        client = async_client(redis_url)
        try:
            return await body(StartQueue(client, keys or Keys(), worker))
        finally:
            await client.aclose()

    return asyncio.run(run())


async def claim_and_handle(queue: StartQueue, limit: int = 10) -> list[str | None]:
    """One round of the spider's start-message loop: claim a batch, handle each message."""
    return [await queue.handle(raw) for raw in await queue.claim(limit)]
