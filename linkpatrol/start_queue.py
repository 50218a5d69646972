"""The start queue, as a crawler reads it (asyncio client): scrapy-redis's ``<spider>:start_urls`` list.

A crawler claims messages one at a time with LMOVE into a list of its own (``Keys.start_claimed``),
turns each into a crawl, then drops it from that list. A crawler that dies in between leaves the
message in its claimed list, and a peer's reaper moves it back to the start queue: nothing is lost.
Creating a crawl from a URL message replaces the claimed message by one naming the new crawl in the
same transaction, so a message handled twice starts one crawl, never two. A bad message is logged
in one line and dropped; the others are unaffected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from linkpatrol.frontier import CrawlLimits, Scripts
from linkpatrol.keys import Keys
from linkpatrol.records import Crawl, CrawlState
from linkpatrol.store import CrawlStore, new_record, write_record
from linkpatrol.wire import BadStartMessage, StartMessage

logger = logging.getLogger(__name__)


class StartQueue:
    def __init__(self, client: Any, keys: Keys, worker_id: str, store: CrawlStore | None = None,
                 limits: CrawlLimits | None = None) -> None:
        self.r = client
        # The defaults a crawl's unset limits take when it starts (None: they stay unset).
        self.limits = limits
        self.keys = keys
        # A synchronous store for retention (``CrawlStore.prune``, in a thread): one way to delete a
        # crawl. None: this queue prunes nothing.
        self.store = store
        self.scripts = Scripts(client, keys)
        self.claimed = keys.start_claimed(worker_id)

    async def claim(self, limit: int) -> list[str]:
        """Up to ``limit`` messages, each moved into this crawler's claimed list."""
        out: list[str] = []
        for _ in range(limit):
            raw = await self.r.lmove(self.keys.start, self.claimed, "LEFT", "RIGHT")
            if raw is None:
                break
            out.append(raw)
        return out

    async def take_back_own(self) -> int:
        """Messages this crawler claimed and never finished (a reply lost with Redis): back to the queue."""
        n = 0
        while await self.r.lmove(self.claimed, self.keys.start, "RIGHT", "LEFT"):
            n += 1
        return n

    async def handle(self, raw: str) -> str | None:
        """Start the crawl a claimed message asks for; returns its id, or None for a bad message.
        The message leaves the claimed list either way."""
        try:
            msg = StartMessage.decode(raw)
        except BadStartMessage as exc:
            logger.warning("skipping start message %.200r: %s", StartMessage.loggable(raw), exc)
            await self.r.lrem(self.claimed, 1, raw)
            return None
        if msg.crawl_id is None:
            assert msg.url is not None
            record = new_record(msg.url, msg.options)
            named = StartMessage(crawl_id=record["id"]).encode()
            pipe = self.r.pipeline(transaction=True)
            write_record(pipe, self.keys, record, msg.options.headers, msg.options.webhook_secret)
            pipe.lrem(self.claimed, 1, raw)
            pipe.rpush(self.claimed, named)
            await pipe.execute()
            logger.info("crawl %s created from a start message: %s", record["id"], record["url"])
            if self.store is not None:
                for old in await asyncio.to_thread(self.store.prune, record["url"]):
                    logger.info("crawl %s deleted: more than %d crawls of %s", old, self.store.keep_crawls,
                                record["url"])
            crawl_id, raw = record["id"], named
        else:
            crawl_id = msg.crawl_id
        await self._seed(crawl_id, raw)
        await self.r.lrem(self.claimed, 1, raw)
        return crawl_id

    async def _seed(self, crawl_id: str, raw: str) -> None:
        rec = await self.r.hgetall(self.keys.crawl(crawl_id))
        if not rec:
            logger.warning("skipping start message %.200r: no crawl %s", raw, crawl_id)
        elif rec.get("state") != CrawlState.QUEUED:
            logger.info("skipping start message for crawl %s: it is %s", crawl_id, rec.get("state"))
        elif await self.scripts.seed(crawl_id, (crawl := Crawl.from_record(rec)).url, time.time(),
                                     self.limits.apply(crawl.options) if self.limits else None):
            logger.info("crawl %s started: %s", crawl_id, rec["url"])

