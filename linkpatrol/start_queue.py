"""The start queue, as a crawler reads it (asyncio client): scrapy-redis's ``<spider>:start_urls`` list.

A crawler claims messages one at a time with LMOVE into a list of its own (``Keys.start_claimed``),
turns each into a crawl, then drops it from that list. A crawler that dies in between leaves the
message in its claimed list, and a peer's reaper moves it back to the start queue: nothing is lost.
Creating a crawl from a URL message replaces the claimed message by one naming the new crawl in the
same transaction, so a message handled twice starts one crawl, never two. A bad message is logged
in one line and dropped; the others are unaffected.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from linkpatrol.frontier import Scripts
from linkpatrol.keys import Keys
from linkpatrol.records import Crawl, CrawlState
from linkpatrol.store import expired_crawls, forget_crawl, new_record, write_record
from linkpatrol.wire import BadStartMessage, StartMessage

logger = logging.getLogger(__name__)


class StartQueue:
    def __init__(self, client: Any, keys: Keys, worker_id: str, keep_crawls: int = 30) -> None:
        self.r = client
        self.keys = keys
        self.keep_crawls = keep_crawls  # retention per site, as ``CrawlStore.prune``; 0 keeps all
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
            write_record(pipe, self.keys, record, msg.options.headers)
            pipe.lrem(self.claimed, 1, raw)
            pipe.rpush(self.claimed, named)
            await pipe.execute()
            logger.info("crawl %s created from a start message: %s", record["id"], record["url"])
            await self._prune(record["url"])
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
        elif await self.scripts.seed(crawl_id, Crawl.from_record(rec).url, time.time()):
            logger.info("crawl %s started: %s", crawl_id, rec["url"])

    async def _prune(self, url: str) -> None:
        """Retention, as ``CrawlStore.prune`` does it with a sync client: the site's ended crawls beyond
        the newest ``keep_crawls`` go with every key they created."""
        if not self.keep_crawls:
            return
        older = await self.r.zrevrange(self.keys.site_crawls(url), self.keep_crawls, -1)
        if not older:
            return
        pipe = self.r.pipeline(transaction=False)
        for crawl_id in older:
            pipe.hget(self.keys.crawl(crawl_id), "state")
        for crawl_id in expired_crawls(list(zip(older, await pipe.execute(), strict=True))):
            pipe = self.r.pipeline(transaction=False)
            async for key in self.r.scan_iter(match=self.keys.crawl_pattern(crawl_id), count=1000):
                pipe.unlink(key)
            pipe.unlink(self.keys.crawl(crawl_id))
            forget_crawl(pipe, self.keys, crawl_id, url)
            await pipe.execute()
            logger.info("crawl %s deleted: more than %d crawls of %s", crawl_id, self.keep_crawls, url)
