"""The crawler side of the frontier: leases work from Redis for this process and keeps it alive.

One Feeder per crawler process. It registers the process as a worker with a heartbeat, seeds crawls
from start messages, leases request messages from the active crawls (round robin) while this process
has room for them, and reclaims the leases of workers whose heartbeat stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import random
import secrets
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from crawler.config import Config
from crawler.frontier import Scripts
from crawler.keys import Keys
from crawler.storage import CrawlOptions
from crawler.urls import host_of

logger = logging.getLogger(__name__)
T = TypeVar("T")
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


@dataclass
class CrawlContext:
    id: str
    url: str
    host: str
    options: CrawlOptions


def connect(config: Config) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        config.redis_url,
        decode_responses=True,
        socket_connect_timeout=5,
        socket_timeout=30,
        health_check_interval=15,
    )


async def retrying(what: str, call: Callable[[], Awaitable[T]], stop: Callable[[], bool] = lambda: False) -> T:
    """Run a Redis call until it succeeds: while Redis is away the crawler waits, it never drops work."""
    delay = 0.2
    warned = False
    while True:
        try:
            result = await call()
        except REDIS_DOWN as exc:
            if stop():
                raise
            if not warned:
                logger.warning("Redis unreachable during %s (%s); waiting for it to come back", what, exc)
                warned = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        if warned:
            logger.warning("Redis is back; %s done", what)
        return result


class Feeder:
    def __init__(self, client: aioredis.Redis, config: Config, capacity: int, host_cap: int = 0) -> None:
        self.r: Any = client  # decode_responses=True: every reply is str
        self.config = config
        self.keys = Keys(config.prefix)
        self.scripts = Scripts(client, self.keys)
        self.capacity = capacity
        # At most this many leases per other host at once (0: no cap). Politeness makes requests to a
        # slow or rate-limited host wait; without a cap they would fill every slot of this process
        # and starve the crawl's own pages and every other host.
        self.host_cap = host_cap
        self.held_by_host: Counter[str] = Counter()
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.held = 0
        self.done = 0
        self.active: set[str] = set()
        self.contexts: dict[str, CrawlContext] = {}
        self._room = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._started = time.time()
        self._last_crawl = ""
        self.leased: set[tuple[str, str]] = set()  # (crawl id, url) of every lease this process holds
        self._suspects: set[tuple[str, str]] = set()
        self._seeding = False
        self._refreshed = 0.0  # when the start queue and the active set were last read
        self._had_work = False

    # -- lifecycle ---------------------------------------------------------------------------------
    async def open(self) -> None:
        await retrying("start-up", self.r.ping)
        await retrying("worker registration", self._heartbeat_once)
        self._tasks = [
            asyncio.create_task(self._every(self.config.worker_ttl / 4, self._heartbeat_once, "heartbeat")),
            asyncio.create_task(self._every(self.config.reap_interval, self.reap, "reaper")),
        ]
        logger.info("worker %s registered (Redis %s)", self.worker_id, self.config.redis_url.split("@")[-1])

    async def close(self) -> None:
        """Give back what this process still holds, so another crawler picks it up at once."""
        self._closing = True
        for task in self._tasks:
            task.cancel()
        try:
            returned = await self._requeue_worker(self.worker_id)
            await self.r.hdel(self.keys.workers, self.worker_id)
            await self.r.delete(self.keys.worker_alive(self.worker_id))
            if returned:
                logger.info("returned %d in-flight requests to the frontier", returned)
        except REDIS_DOWN as exc:
            logger.warning("could not return in-flight requests (%s); the reaper of a peer will", exc)
        await self.r.aclose()

    async def _every(self, interval: float, job: Callable[[], Awaitable[Any]], name: str) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await job()
            except REDIS_DOWN as exc:
                logger.debug("%s skipped: Redis unreachable (%s)", name, exc)
            except Exception:
                logger.exception("%s failed", name)

    async def _heartbeat_once(self) -> None:
        info = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": self._started,
            "seen": time.time(),
            "done": self.done,
            "held": self.held,
            "crawl": self._last_crawl,
        }
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.keys.worker_alive(self.worker_id), "1", px=int(self.config.worker_ttl * 1000))
        pipe.hset(self.keys.workers, self.worker_id, json.dumps(info))
        await pipe.execute()

    # -- recovery ----------------------------------------------------------------------------------
    async def reap(self) -> int:
        """Put back the leases and claimed start messages of workers whose heartbeat expired, and
        this worker's own orphans."""
        total = await self._audit_own_leases()
        workers = await self.r.hkeys(self.keys.workers)
        others = [w for w in workers if w != self.worker_id]
        if not others:
            return total
        pipe = self.r.pipeline(transaction=False)
        for w in others:
            pipe.exists(self.keys.worker_alive(w))
        alive = await pipe.execute()
        for worker, is_alive in zip(others, alive, strict=True):
            if is_alive:
                continue
            total += await self._requeue_worker(worker)
            await self.r.hdel(self.keys.workers, worker)
            logger.warning("worker %s stopped answering; its work went back to the frontier", worker)
        return total

    async def _audit_own_leases(self) -> int:
        """Leases Redis says this worker holds but this process does not know of: a lease whose
        reply was lost (the connection dropped after the POP ran, or a client retry ran it twice).
        Nobody would ever finish them, so the crawl would never end. A lease is put back when it
        looks orphaned in two audits in a row (one look could race with a reply on its way)."""
        tag = self.worker_id + "\n"
        seen: set[tuple[str, str]] = set()
        for crawl_id in await self.r.smembers(self.keys.active):
            for url, value in (await self.r.hgetall(self.keys.inflight(crawl_id))).items():
                if value.startswith(tag) and (crawl_id, url) not in self.leased:
                    seen.add((crawl_id, url))
        orphans, self._suspects = seen & self._suspects, seen - self._suspects
        by_crawl: dict[str, list[str]] = {}
        for crawl_id, url in orphans:
            by_crawl.setdefault(crawl_id, []).append(url)
        total = 0
        for crawl_id, urls in by_crawl.items():
            total += int(await self.scripts.requeue(crawl_id, self.worker_id, urls))
        claimed = self.keys.start_claimed(self.worker_id)
        if not self._seeding and await self.r.llen(claimed):
            while await self.r.lmove(claimed, self.keys.start, "RIGHT", "LEFT"):
                total += 1
        if total:
            logger.warning("put back %d leases this worker had lost track of (a reply lost with Redis)", total)
        return total

    async def _requeue_worker(self, worker: str) -> int:
        total = 0
        for crawl_id in await self.r.smembers(self.keys.active):
            total += int(await self.scripts.requeue(crawl_id, worker))
        claimed = self.keys.start_claimed(worker)
        while await self.r.lmove(claimed, self.keys.start, "RIGHT", "LEFT"):
            total += 1
        return total

    # -- leasing work ------------------------------------------------------------------------------
    def is_active(self, crawl_id: str) -> bool:
        return crawl_id in self.active

    def release(self, crawl_id: str, url: str) -> None:
        self.leased.discard((crawl_id, url))
        host = host_of(url)
        if self.held_by_host[host] > 1:
            self.held_by_host[host] -= 1
        else:
            self.held_by_host.pop(host, None)
        self.held -= 1
        self.done += 1
        self._last_crawl = crawl_id
        self._room.set()

    async def next_batch(self) -> list[tuple[CrawlContext, dict[str, Any]]]:
        """Wait until this process has room and the frontier has work, then lease a batch."""
        idle = 0.02
        # Lease in batches: a round trip per freed slot would cost more than the request itself.
        min_batch = max(1, self.capacity // 4)
        while True:
            room = self.capacity - self.held
            if room <= 0 or (room < min_batch and self.held > 0):
                self._room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), timeout=1.0)
                continue
            batch = await retrying("leasing requests", functools.partial(self._lease, room))
            if batch:
                self.held += len(batch)
                return batch
            await asyncio.sleep(idle)
            # While some crawl is running, its queue may refill any moment (a peer's page is being
            # parsed): keep polling briskly. With nothing running, back off to a quiet 0.25 s.
            idle = min(idle * 2, 0.05 if self.active else 0.25)

    async def _lease(self, room: int) -> list[tuple[CrawlContext, dict[str, Any]]]:
        now = time.monotonic()
        if now - self._refreshed > 0.25 or not self._had_work:
            await self._take_start_messages()
            self.active = set(await self.r.smembers(self.keys.active))
            self._refreshed = now
        crawls = list(self.active)
        random.shuffle(crawls)
        batch: list[tuple[CrawlContext, dict[str, Any]]] = []
        share = max(1, room // max(1, len(crawls)))
        for crawl_id in crawls:
            if room <= 0:
                break
            raws = await self.scripts.pop(crawl_id, min(room, share), self.worker_id)
            if not raws:
                continue
            ctx = await self._context(crawl_id)
            put_off: list[str] = []
            for raw in raws:
                msg = json.loads(raw)
                host = host_of(msg["u"])
                if self.host_cap and msg["k"] == "check" and host != ctx.host and \
                        self.held_by_host[host] >= self.host_cap:
                    put_off.append(msg["u"])
                    continue
                self.held_by_host[host] += 1
                self.leased.add((crawl_id, msg["u"]))
                batch.append((ctx, msg))
                room -= 1
            if put_off:  # to the end of the queue: other work first, this host's turn comes again
                await self.scripts.requeue(crawl_id, self.worker_id, put_off, tail=True)
        self._had_work = bool(batch)
        return batch

    async def _context(self, crawl_id: str) -> CrawlContext:
        ctx = self.contexts.get(crawl_id)
        if ctx is None:
            rec = await self.r.hgetall(self.keys.crawl(crawl_id))
            ctx = CrawlContext(
                id=crawl_id,
                url=rec.get("url", ""),
                host=rec.get("host", ""),
                options=CrawlOptions.from_json(rec.get("options")),
            )
            if len(self.contexts) > 1000:
                self.contexts.clear()
            self.contexts[crawl_id] = ctx
        return ctx

    async def _take_start_messages(self, limit: int = 10) -> None:
        self._seeding = True
        try:
            await self._seed_from_start_messages(limit)
        finally:
            self._seeding = False

    async def _seed_from_start_messages(self, limit: int) -> None:
        claimed = self.keys.start_claimed(self.worker_id)
        for _ in range(limit):
            raw = await self.r.lmove(self.keys.start, claimed, "LEFT", "RIGHT")
            if raw is None:
                return
            crawl_id = self._parse_start(raw)
            if crawl_id is not None:
                rec = await self.r.hmget(self.keys.crawl(crawl_id), ["url", "state"])
                if rec[0] is None:
                    logger.warning("skipping start message %.200r: no crawl %s", raw, crawl_id)
                elif rec[1] != "queued":
                    logger.info("skipping start message for crawl %s: it is %s", crawl_id, rec[1])
                elif await self.scripts.seed(crawl_id, rec[0], time.time()):
                    logger.info("crawl %s started: %s", crawl_id, rec[0])
            await self.r.lrem(claimed, 1, raw)

    @staticmethod
    def _parse_start(raw: str) -> str | None:
        try:
            data = json.loads(raw)
        except ValueError:
            logger.warning("skipping start message %.200r: not JSON", raw)
            return None
        crawl_id = data.get("crawl_id") if isinstance(data, dict) else None
        if not isinstance(crawl_id, str) or not crawl_id or len(crawl_id) > 64:
            logger.warning("skipping start message %.200r: it needs a \"crawl_id\" string", raw)
            return None
        return crawl_id
