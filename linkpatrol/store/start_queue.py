"""The start queue, as a crawler reads it (asyncio client): scrapy-redis's ``<spider>:start_urls`` list.

A crawler claims messages with LMOVE into a list of its own (``Keys.start_claimed``), turns each into
a crawl, then drops it from that list. Every round reads its claimed list again first, so a batch
cut short (an error halfway) is finished by the next round. A crawler that dies in between leaves
its messages in its claimed list: a peer's reaper moves them back to the start queue, and so does
any crawler that starts (``take_back_own``): nothing is lost.

Each message is handled once: creating a crawl from a URL message replaces the claimed message by
one naming the new crawl in a transaction that runs only if the message is still this crawler's
(``_settle``: a crawler that stalled past its heartbeat finds its messages taken back and leaves
them to whoever took them), and seeding a named crawl twice starts it once.

A message that cannot be decoded (not UTF-8, too large, nested too deeply, not a URL or an object,
an invalid option: ``StartMessage.decode``) goes to the dead-letter list (``Keys.start_dead``, the
newest ``DEAD_KEPT``) with its reason and time, logged in one line; the others are unaffected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.client import NEVER_DECODE
from redis.exceptions import WatchError

from linkpatrol.frontier import CrawlLimits, Scripts
from linkpatrol.model.records import Crawl, CrawlState, Origin
from linkpatrol.model.start_messages import BadStartMessage, DeadStartMessage, StartMessage
from linkpatrol.store.connection import RedisError, unavailable
from linkpatrol.store.crawls import CrawlStore, NewCrawl
from linkpatrol.store.keys import Keys

logger = logging.getLogger(__name__)
DEAD_KEPT = 1000  # dead letters kept: the newest
ATTEMPTS = 3  # a message whose handling fails this often for a reason of its own is a dead letter
RAW = {NEVER_DECODE: True}  # replies as bytes: a message that is not UTF-8 must not break a claim


class StartQueue:
    def __init__(self, client: Any, keys: Keys, crawler_id: str, store: CrawlStore | None = None,
                 limits: CrawlLimits | None = None) -> None:
        self.r = client
        # The defaults a crawl's unset limits take when it starts (None: they stay unset).
        self.limits = limits
        self.keys = keys
        # A synchronous store for retention (``CrawlStore.prune``, in a thread): one way to delete a
        # crawl. None: this queue prunes nothing.
        self.store = store
        self.scripts = Scripts(client, keys)
        self.crawler_id = crawler_id
        self.claimed = keys.start_claimed(crawler_id)
        self._failures: dict[str, int] = {}  # message -> failed attempts, for ATTEMPTS
        self._adopted = False

    async def claim(self, limit: int) -> list[str]:
        """Up to ``limit`` messages to handle: first those this crawler claimed and has not finished
        (a batch cut short), then new ones, each moved into this crawler's claimed list. A message
        that is not UTF-8 text, or too large, goes to the dead-letter list here and is not returned."""
        raws: list[bytes] = list(await self.r.execute_command("LRANGE", self.claimed, 0, limit - 1, **RAW))
        while len(raws) < limit:
            raw = await self.r.execute_command("LMOVE", self.keys.start, self.claimed, "LEFT", "RIGHT", **RAW)
            if raw is None:
                break
            raws.append(raw)
        out: list[str] = []
        for raw in raws:
            try:
                out.append(StartMessage.text(raw))
            except BadStartMessage as exc:
                await self._dead(raw, str(exc))
        return out

    async def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a message (BLMOVE into this crawler's claimed list, as
        ``claim`` moves them): a crawl enqueued while every crawler is idle is taken at once, not at
        the next look. True when one came; ``claim`` then returns it first."""
        raw = await self.r.execute_command("BLMOVE", self.keys.start, self.claimed, "LEFT", "RIGHT", timeout, **RAW)
        return raw is not None

    async def take_back_own(self) -> int:
        """Messages this crawler claimed and never finished (a reply lost with Redis) back to the
        queue; the first time (at start), also those of crawlers whose heartbeat stopped, as a
        peer's reaper would: a crawler that restarts (under a new id) gets its old list back."""
        n = await self._give_back(self.claimed)
        if not self._adopted:
            n += await self._adopt_dead_peers()
            self._adopted = True
        return n

    async def _give_back(self, claimed: str) -> int:
        n = 0
        while await self.r.execute_command("LMOVE", claimed, self.keys.start, "RIGHT", "LEFT", **RAW) is not None:
            n += 1
        return n

    async def _adopt_dead_peers(self) -> int:
        """The claimed lists of crawlers without a heartbeat, back to the queue: found by name, so a
        list whose crawler left the registry (or never got a reaper's visit) is not forgotten."""
        prefix = self.keys.start_claimed("")
        n = 0
        async for key in self.r.scan_iter(match=prefix + "*", count=1000):
            crawler = key[len(prefix):]
            if key == self.claimed or await self.r.exists(self.keys.crawler_alive(crawler)):
                continue
            if moved := await self._give_back(key):
                logger.warning("took back %d start messages claimed by %s, which stopped", moved, crawler)
                n += moved
        return n

    async def handle(self, raw: str) -> str | None:
        """Start the crawl a claimed message asks for; returns its id, or None for a bad message (a
        dead letter). Only Redis being unavailable raises: any other failure is this message's, which
        stays claimed for another attempt (``claim`` reads it again) and after ``ATTEMPTS`` is a dead
        letter; the rest of a batch goes on either way."""
        try:
            crawl_id = await self._handle(raw)
        except (RedisError, OSError) as exc:
            if unavailable(exc):
                raise
            failure: Exception = exc
        except Exception as exc:  # a bug of ours this message runs into: it must not hold back others
            failure = exc
        else:
            self._failures.pop(raw, None)
            return crawl_id
        attempts = self._failures[raw] = self._failures.get(raw, 0) + 1
        reason = f"could not be handled ({type(failure).__name__}: {failure})"
        if attempts < ATTEMPTS:
            logger.warning("start message %.200r %s; attempt %d of %d", StartMessage.loggable(raw), reason,
                           attempts, ATTEMPTS)
            return None
        del self._failures[raw]
        await self._dead(raw, reason)
        return None

    async def _handle(self, raw: str) -> str | None:
        try:
            msg = StartMessage.decode(raw)
        except BadStartMessage as exc:
            await self._dead(raw, str(exc))
            return None
        if msg.crawl_id is None:
            assert msg.url is not None
            new = NewCrawl.of(msg.url, msg.options, Origin.START_QUEUE)
            # Its start message replaces the claimed one: seeded below, by this crawler.
            if not await self._settle(raw, lambda pipe: new.write(pipe, self.keys, start=self.claimed)):
                logger.info("start message %.200r was taken back by a peer: it is theirs now",
                            StartMessage.loggable(raw))
                return None
            logger.info("crawl %s created from a start message: %s", new.id, new.url)
            if self.store is not None:
                for old in await asyncio.to_thread(self.store.retain, new):
                    logger.info("crawl %s deleted: more than %d crawls of %s", old, self.store.keep_crawls, new.url)
            crawl_id, raw = new.id, new.start_message
        else:
            crawl_id = msg.crawl_id
        await self._seed(crawl_id, raw)
        await self.r.lrem(self.claimed, 1, raw)
        return crawl_id

    async def _settle(self, raw: str | bytes, writes: Callable[[Any], None]) -> bool:
        """Drop ``raw`` from this crawler's claimed list and queue ``writes`` in the same transaction,
        if ``raw`` is still there (False when a peer took it back meanwhile: it is not ours to
        handle, and handling it here too would start a second crawl)."""
        async with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.claimed)
                    if await pipe.lpos(self.claimed, raw) is None:
                        return False
                    pipe.multi()
                    pipe.lrem(self.claimed, 1, raw)
                    writes(pipe)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue

    async def _dead(self, raw: str | bytes, reason: str) -> None:
        """``raw`` from the claimed list to the dead-letter list, with ``reason``; one log line."""
        letter = DeadStartMessage.of(raw, reason, time.time())

        def bury(pipe: Any) -> None:
            pipe.rpush(self.keys.start_dead, letter.encode())
            pipe.ltrim(self.keys.start_dead, -DEAD_KEPT, -1)

        if await self._settle(raw, bury):
            logger.warning("start message %.200r rejected (%s), kept in %s", letter.message, reason,
                           self.keys.start_dead)

    async def _seed(self, crawl_id: str, raw: str) -> None:
        rec = await self.r.hgetall(self.keys.crawl(crawl_id))
        if not rec:
            logger.warning("skipping start message %.200r: no crawl %s", raw, crawl_id)
        elif rec.get("state") != CrawlState.QUEUED:
            logger.info("skipping start message for crawl %s: it is %s", crawl_id, rec.get("state"))
        elif await self.scripts.seed(crawl_id, (crawl := Crawl.from_record(rec)).url, time.time(),
                                     self.limits.apply(crawl.options) if self.limits else None):
            logger.info("crawl %s started: %s", crawl_id, rec["url"])
            try:  # idle peers join at once (crawler/frontier/wake.py); else at their next look
                await self.r.publish(self.keys.crawl_events, crawl_id)
            except (RedisError, OSError) as exc:
                logger.debug("could not announce crawl %s: %s", crawl_id, exc)


def dead_letters(client: Any, keys: Keys, limit: int = 20) -> tuple[int, list[DeadStartMessage]]:
    """How many start messages the dead-letter list holds, and the newest ``limit`` of them, newest
    first (a synchronous client: the command line)."""
    pipe = client.pipeline(transaction=False)
    pipe.llen(keys.start_dead)
    pipe.lrange(keys.start_dead, -limit, -1)
    total, newest = pipe.execute()
    return int(total), [DeadStartMessage.decode(raw) for raw in reversed(newest)]
