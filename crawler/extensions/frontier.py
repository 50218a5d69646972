"""The crawler side of the frontier, as a Scrapy extension: it owns this process's leases.

One per crawler process. It registers the process in the crawler registry with a heartbeat, leases
request messages from the active crawls (round robin) while this process has room for them, records
results (``record``), and reclaims the leases and claimed start messages of crawlers whose heartbeat
stopped. Its reaper also decides the leases of any crawler held past ``LINKPATROL_LEASE_MAX_SECONDS``
(OVERDUE: a lease whose task was lost costs one url, never a crawl), and once the engine is stopping
a watchdog thread ends the process ``LINKPATROL_STOP_GRACE`` seconds later whatever its threads do,
after giving the leases back. The spider, the pipeline and the middlewares find it with
``crawler.get_extension(FrontierExtension)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from scrapy_redis import connection

from crawler.logs import quiet_robots_failures
from crawler.render.routing import RenderRouting
from linkpatrol.frontier import OverdueLease, Scripts, dead_requeued
from linkpatrol.model.records import CrawlOptions
from linkpatrol.model.rules import CrawlRules
from linkpatrol.model.urls import host_of
from linkpatrol.model.verdicts import ErrorKind
from linkpatrol.model.wire import Completion, FrontierMessage, MessageKind
from linkpatrol.store.connection import AsyncClient, RedisError, SyncClient, retrying, unavailable
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import Heartbeats
from linkpatrol.store.start_queue import RAW

logger = logging.getLogger(__name__)


# A refused port gets one more chance this many seconds after the first refusal before the whole
# host is decided; a name that does not resolve is decided at the first failure.
REFUSED_PAUSE = 1.0
MB = 1024 * 1024
STOP_WATCH = 0.5  # seconds between looks at whether the engine began to stop


@dataclass
class CrawlContext:
    """What this process knows of a crawl it holds work of: its options and rules."""

    id: str
    url: str
    host: str
    options: CrawlOptions
    rules: CrawlRules
    headers: dict[str, str] = field(default_factory=dict)
    default_page_mb: int = 32
    deadline: float | None = None  # epoch seconds: started + max_duration

    def overdue(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline

    def in_scope(self, host: str) -> bool:
        return self.rules.in_scope(host)

    def excluded(self, url: str) -> bool:
        return self.rules.excluded(url)

    def accepted(self, status: int, host: str) -> bool:
        return self.rules.accepted(status, host)

    def depth_allows(self, depth: int) -> bool:
        return self.options.max_depth is None or depth <= self.options.max_depth

    @property
    def head_first(self) -> bool:
        return bool(self.options.head_first)

    @property
    def max_page_bytes(self) -> int:
        return (self.options.max_page_size or self.default_page_mb) * MB


def redis_from_settings(settings: BaseSettings, cls: type = AsyncClient, **params: Any) -> Any:
    """A client (asyncio unless ``cls`` says otherwise) from the Scrapy settings REDIS_URL and
    REDIS_PARAMS (``params`` override them), through scrapy-redis's connection module; the client
    class is the core's whatever REDIS_PARAMS says."""
    overridden = BaseSettings(settings.copy_to_dict(), priority="cmdline")
    overridden.set("REDIS_PARAMS", {**settings.getdict("REDIS_PARAMS"), **params, "redis_cls": cls}, "cmdline")
    return connection.get_redis_from_settings(overridden)


def crawler_keys(crawler: Crawler) -> Keys:
    s = crawler.settings
    return Keys(s.get("LINKPATROL_PREFIX"), s.get("REDIS_START_URLS_KEY", "") % {"name": "links"})


def frontier_of(crawler: Crawler) -> FrontierExtension:
    """The crawler's frontier extension, for components built after it (middlewares, pipelines)."""
    frontier = crawler.get_extension(FrontierExtension)
    if frontier is None:
        raise NotConfigured("EXTENSIONS must enable crawler.extensions.frontier.FrontierExtension")
    return frontier


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class FrontierExtension:
    def __init__(self, client: Any, keys: Keys, *, capacity: int, host_cap: int, worker_ttl: float,
                 reap_interval: float, max_referrers: int, redis_location: str = "",
                 default_page_mb: int = 32, max_links: int = 10_000, trap_ids: int = 0,
                 lease_max: float = 300.0, stop_grace: float = 3.0, lease_attempts: int = 3,
                 sync_client: Callable[[], Any] | None = None) -> None:
        self.r: Any = client  # decode_responses=True: every reply is str
        self.keys = keys
        self.scripts = Scripts(client, keys)
        self.capacity = capacity
        # At most this many leases per other host at once (0: no cap). Politeness makes requests to a
        # slow or rate-limited host wait; without a cap they would fill every slot of this process
        # and starve the crawl's own pages and every other host.
        self.host_cap = host_cap
        self.worker_ttl = worker_ttl
        self.reap_interval = reap_interval
        self.max_referrers = max_referrers
        self.redis_location = redis_location
        self.default_page_mb = default_page_mb
        self.max_links = max_links  # links taken from one page (LINKPATROL_MAX_LINKS_PER_PAGE)
        self.trap_ids = trap_ids  # urls of one id template followed (LINKPATROL_TRAP_IDS; 0: no limit)
        # A lease whose work started longer ago than this is decided (LINKPATROL_LEASE_MAX_SECONDS; 0: never).
        self.lease_max = lease_max
        # Crawlers a url may stop (their heartbeat expired while they held it) before it is decided
        # ``timeout`` instead of queued again (LINKPATROL_LEASE_ATTEMPTS; 0: no bound).
        self.lease_attempts = lease_attempts
        # Seconds the engine gets to stop once it began to (LINKPATROL_STOP_GRACE; 0: no watchdog), and
        # the client the watchdog gives the leases back with (its own: the loop may be stuck).
        self.stop_grace = stop_grace
        self._sync_client = sync_client
        self._watchdog: threading.Timer | None = None
        # Host-level verdicts per crawl (host -> kind), shared through Redis, read every second.
        self.host_verdicts: dict[str, dict[str, ErrorKind]] = {}
        self._verdicts_read = 0.0
        self._refused: dict[tuple[str, str], float] = {}  # (crawl, host) -> first refusal
        self._background: set[asyncio.Task[Any]] = set()
        self.worker_id = new_worker_id()
        self.heartbeats = Heartbeats(client, keys, self.worker_id, worker_ttl)
        self.held_by_host: Counter[str] = Counter()
        self.held = 0
        self.done = 0
        self.active: set[str] = set()
        self.contexts: dict[str, CrawlContext] = {}
        self._room = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.engine_running: Callable[[], bool] = lambda: True  # from_crawler: whether Scrapy's engine runs
        self._opened: asyncio.Future[None] | None = None
        self._started = time.time()
        self._last_crawl = ""
        # (crawl id, url) of every lease this process holds (a count: a url given back by a peer that
        # thought us dead may come to us twice).
        self.leased: Counter[tuple[str, str]] = Counter()
        # Leases whose request has not reached the downloader yet (waiting for the shared politeness):
        # their clocks are renewed, so a slow site's pacing never counts against the lease bound.
        self._waiting: set[tuple[str, str]] = set()
        self._deciding: set[tuple[str, str]] = set()  # overdue leases this reaper took over
        self._suspects: set[tuple[str, str]] = set()
        self._refreshed = 0.0  # when the active set was last read
        self.render: RenderRouting | None = None  # pages that need a browser (crawler/render)
        self._had_work = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        host_cap = s.getint("LINKPATROL_HOST_LEASES")
        if host_cap < 0:  # default: twice what the shared politeness lets through at once
            polite = s.getbool("LINKPATROL_POLITENESS_ENABLED") and s.getint("LINKPATROL_HOST_CONCURRENCY") > 0
            host_cap = 2 * s.getint("LINKPATROL_HOST_CONCURRENCY") if polite else 0
        ext = cls(
            redis_from_settings(s),
            crawler_keys(crawler),
            capacity=s.getint("CONCURRENT_REQUESTS") + s.getint("LINKPATROL_PREFETCH", 16),
            host_cap=host_cap,
            worker_ttl=s.getfloat("LINKPATROL_WORKER_TTL"),
            reap_interval=s.getfloat("LINKPATROL_REAP_INTERVAL"),
            max_referrers=s.getint("LINKPATROL_MAX_REFERRERS"),
            redis_location=str(s.get("REDIS_URL") or "").split("@")[-1],
            default_page_mb=s.getint("LINKPATROL_MAX_PAGE_SIZE", 32),
            max_links=s.getint("LINKPATROL_MAX_LINKS_PER_PAGE", 10_000),
            trap_ids=s.getint("LINKPATROL_TRAP_IDS"),
            lease_max=s.getfloat("LINKPATROL_LEASE_MAX_SECONDS", 300.0),
            lease_attempts=s.getint("LINKPATROL_LEASE_ATTEMPTS", 3),
            stop_grace=s.getfloat("LINKPATROL_STOP_GRACE", 3.0),
            sync_client=functools.partial(redis_from_settings, s, SyncClient, socket_timeout=2,
                                          socket_connect_timeout=2),
        )
        ext.engine_running = lambda: crawler.engine is None or crawler.engine.running
        ext.render = RenderRouting.from_settings(s, ext)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.request_reached_downloader, signal=signals.request_reached_downloader)
        quiet_robots_failures()
        return ext

    # -- lifecycle ---------------------------------------------------------------------------------
    async def open(self) -> None:
        """Register this crawler and start the heartbeat and the reaper (once; the spider awaits it)."""
        if self._opened is None:
            self._opened = asyncio.ensure_future(self._open())
        await self._opened

    async def _open(self) -> None:
        await retrying("start-up", self.r.ping)
        await retrying("crawler registration", self._heartbeat_once)
        self._tasks = [
            asyncio.create_task(self._every(self.worker_ttl / 4, self._heartbeat_once, "heartbeat")),
            asyncio.create_task(self._every(self.reap_interval, self.reap, "reaper")),
            asyncio.create_task(self._watch_engine()),
        ]
        logger.info("worker %s registered (Redis %s)", self.worker_id, self.redis_location)

    async def spider_closed(self, spider: Any, reason: str) -> None:
        """Give back what this process still holds, so another crawler picks it up at once."""
        for task in self._tasks:
            task.cancel()
        try:
            returned = await self._requeue_worker(self.worker_id)
            await self.heartbeats.forget(self.worker_id)
            if returned:
                logger.info("returned %d in-flight requests to the frontier", returned)
        except (RedisError, OSError) as exc:
            if not unavailable(exc):
                raise
            logger.warning("could not return in-flight requests (%s); the reaper of a peer will", exc)
        await self.r.aclose()

    def stopping(self) -> None:
        """The engine began to stop (SIGTERM, SIGINT). It waits for every request under way, and a
        parse stuck in a thread (or a task that will never end) would hold it for ever: past
        ``stop_grace`` seconds, a thread gives this crawler's leases back and ends the process."""
        if self._watchdog is not None or self.stop_grace <= 0 or self._sync_client is None:
            return
        self._watchdog = threading.Timer(self.stop_grace, self._force_stop)
        self._watchdog.daemon = True
        self._watchdog.start()

    async def _watch_engine(self) -> None:
        """``stopping`` once the engine stops running. The spider's ``start()`` says so too, but only
        when the engine stopped while awaiting it: stopped while ``start()`` sat at a ``yield`` (the
        engine between two of a batch's requests), it is never resumed nor closed, and a request
        that never ends held the process for ever (seen once in a few SIGTERM tests)."""
        while self.engine_running():
            await asyncio.sleep(STOP_WATCH)
        self.stopping()

    def _force_stop(self) -> None:
        logger.warning("still stopping after %.0f s: giving the leases back and exiting now", self.stop_grace)
        code = 0
        try:
            assert self._sync_client is not None
            client = self._sync_client()
            scripts = Scripts(client, self.keys)
            returned = sum(int(scripts.requeue(crawl_id, self.worker_id))
                           for crawl_id in client.smembers(self.keys.active))
            while client.execute_command("LMOVE", self.keys.start_claimed(self.worker_id), self.keys.start,
                                         "RIGHT", "LEFT", **RAW) is not None:
                returned += 1
            client.hdel(self.keys.crawlers, self.worker_id)
            client.delete(self.keys.crawler_alive(self.worker_id))
            logger.info("returned %d in-flight requests to the frontier", returned)
        except Exception as exc:  # Redis away: a peer's reaper takes them once the heartbeat expires
            logger.warning("could not return in-flight requests (%s); the reaper of a peer will", exc)
            code = 1
        finally:
            for handler in logging.getLogger().handlers:
                with contextlib.suppress(Exception):
                    handler.flush()
            os._exit(code)

    async def _every(self, interval: float, job: Callable[[], Awaitable[Any]], name: str) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await job()
            except (RedisError, OSError) as exc:
                if unavailable(exc):
                    logger.debug("%s skipped: Redis unreachable or busy (%s)", name, exc)
                else:
                    logger.exception("%s failed", name)
            except Exception:
                logger.exception("%s failed", name)

    async def _heartbeat_once(self) -> None:
        await self.heartbeats.beat({
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": self._started,
            "seen": time.time(),
            "done": self.done,
            "held": self.held,
            "crawl": self._last_crawl,
            "render": self.render.pages if self.render is not None else 0,  # pages it renders at once
        })

    # -- recovery ----------------------------------------------------------------------------------
    async def reap(self) -> int:
        """Put back the leases and claimed start messages of crawlers whose heartbeat expired, and
        this crawler's own orphaned leases; decide the leases held past the bound."""
        total = await self._audit_own_leases()
        for worker in await self.heartbeats.dead_peers():
            total += await self._requeue_worker(worker, dead=True)
            await self.heartbeats.forget(worker)
            logger.warning("worker %s stopped answering; its work went back to the frontier", worker)
        if self.render is not None:  # parked pages no live crawler can render: read as they are
            total += await self.render.reap(self)
        if self.lease_max > 0:
            await self._renew_waiting()
            total += await self.decide_overdue()
        return total

    async def _renew_waiting(self) -> None:
        """Restart the clocks of the leases still waiting their turn for the downloader."""
        by_crawl: dict[str, dict[str, float]] = {}
        now = time.time()
        for crawl_id, url in self._waiting:
            by_crawl.setdefault(crawl_id, {})[url] = now
        if not by_crawl:
            return
        pipe = self.r.pipeline(transaction=False)
        for crawl_id, clocks in by_crawl.items():
            pipe.zadd(self.keys.lease_clock(crawl_id), clocks, xx=True)  # xx: a lease finished meanwhile stays gone
        await pipe.execute()

    async def decide_overdue(self) -> int:
        """Decide every lease (of any crawler) whose work started more than ``lease_max`` seconds ago:
        nobody will ever finish it (a parse task lost to a bug, a thread stuck), so it is recorded
        ``timeout`` rather than queued again to fail the same way. Returns how many were decided."""
        decided = 0
        cutoff = time.time() - self.lease_max
        for crawl_id in await self.r.smembers(self.keys.active):
            while leases := OverdueLease.parse(await self.scripts.overdue(crawl_id, cutoff, self.worker_id)):
                for lease in leases:
                    await self._decide(crawl_id, lease, f"was held by {lease.worker} for more than "
                                                        f"{self.lease_max:.0f} s")
                    decided += 1
        return decided

    async def _decide(self, crawl_id: str, lease: OverdueLease, why: str) -> None:
        key = (crawl_id, lease.url)
        self._deciding.add(key)
        try:
            ctx = await self._context(crawl_id)
            done = lease.completion(crawl_id, external=not ctx.in_scope(host_of(lease.url)))
            for step in self.scripts.completion_steps(done, now=time.time(), max_referrers=self.max_referrers):
                await retrying("recording an overdue lease", step)
            logger.warning("crawl %s: %s %s; decided %s", crawl_id, lease.url, why, done.result.error)
        finally:
            self._deciding.discard(key)
        if lease.worker == self.worker_id:
            self.release(crawl_id, lease.url)  # the slot of a task that will never give it back

    async def _audit_own_leases(self) -> int:
        """Leases Redis says this worker holds but this process does not know of: a lease whose
        reply was lost (the connection dropped after the POP ran, or a client retry ran it twice).
        Nobody would ever finish them, so the crawl would never end. A lease is put back when it
        looks orphaned in two audits in a row (one look could race with a reply on its way)."""
        tag = self.worker_id + "\n"
        seen: set[tuple[str, str]] = set()
        for crawl_id in await self.r.smembers(self.keys.active):
            for url, value in (await self.r.hgetall(self.keys.inflight(crawl_id))).items():
                if value.startswith(tag) and (crawl_id, url) not in self.leased and \
                        (crawl_id, url) not in self._deciding:
                    seen.add((crawl_id, url))
        orphans, self._suspects = seen & self._suspects, seen - self._suspects
        by_crawl: dict[str, list[str]] = {}
        for crawl_id, url in orphans:
            by_crawl.setdefault(crawl_id, []).append(url)
        total = 0
        for crawl_id, urls in by_crawl.items():
            total += int(await self.scripts.requeue(crawl_id, self.worker_id, urls))
        if total:
            logger.warning("put back %d leases this worker had lost track of (a reply lost with Redis)", total)
        return total

    async def _requeue_worker(self, worker: str, dead: bool = False) -> int:
        """Put back ``worker``'s leases and claimed start messages. ``dead``: its heartbeat expired;
        a url that stopped ``lease_attempts`` crawlers so (the last one included) is decided instead,
        rather than queued to stop the next one."""
        total = 0
        for crawl_id in await self.r.smembers(self.keys.active):
            if not dead:
                total += int(await self.scripts.requeue(crawl_id, worker))
                continue
            returned, taken = dead_requeued(await self.scripts.requeue_dead(crawl_id, worker, self.worker_id,
                                                                            self.lease_attempts))
            total += returned
            for lease in taken:
                await self._decide(crawl_id, lease, f"was held by {lease.message.attempts} crawlers that "
                                                    f"stopped answering, the last {lease.worker}")
        claimed = self.keys.start_claimed(worker)
        # As bytes (RAW): a message that is not UTF-8 goes back like any other, to become a dead letter
        # when claimed; decoded here, every reap moved one and failed with a traceback.
        while await self.r.execute_command("LMOVE", claimed, self.keys.start, "RIGHT", "LEFT", **RAW) is not None:
            total += 1
        return total

    # -- leasing work ------------------------------------------------------------------------------
    def is_active(self, crawl_id: str) -> bool:
        return crawl_id in self.active

    def options(self, crawl_id: str) -> CrawlOptions | None:
        """The options of a crawl this process holds work of (None when it holds none)."""
        ctx = self.contexts.get(crawl_id)
        return ctx.options if ctx else None

    def release(self, crawl_id: str, url: str) -> None:
        """Free the slot of a lease this process holds (once: a lease decided by the reaper is not
        freed again when its lost task comes back after all)."""
        key = (crawl_id, url)
        if self.leased[key] <= 0:
            self.leased.pop(key, None)
            return
        self.leased[key] -= 1
        if not self.leased[key]:
            del self.leased[key]
            self._waiting.discard(key)
        host = host_of(url)
        if self.held_by_host[host] > 1:
            self.held_by_host[host] -= 1
        else:
            self.held_by_host.pop(host, None)
        self.held -= 1
        self.done += 1
        self._last_crawl = crawl_id
        self._room.set()

    async def next_batch(self) -> list[tuple[CrawlContext, FrontierMessage]]:
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

    async def _lease(self, room: int) -> list[tuple[CrawlContext, FrontierMessage]]:
        now = time.monotonic()
        if now - self._refreshed > 0.25 or not self._had_work:
            self.active = set(await self.r.smembers(self.keys.active))
            self._refreshed = now
        if now - self._verdicts_read > 1.0:
            await self._read_host_verdicts()
            self._verdicts_read = now
        crawls = list(self.active)
        random.shuffle(crawls)
        batch: list[tuple[CrawlContext, FrontierMessage]] = []
        if self.render is not None:  # pages parked for a crawler that renders: first, they waited already
            room = await self.render.lease(self, crawls, room, batch)
        share = max(1, room // max(1, len(crawls)))
        for crawl_id in crawls:
            if room <= 0:
                break
            ctx = self.contexts.get(crawl_id)
            if ctx is not None and ctx.overdue(time.time()):
                await self._stop_overdue(ctx)
                continue
            try:
                room = await self._lease_from(crawl_id, min(room, share), room, batch)
            except (RedisError, OSError) as exc:
                # Leases already taken must reach the caller, or nobody would finish them; what
                # Redis leased without our knowing is put back by the audit of our own leases.
                if not batch or not unavailable(exc):
                    raise
                break
        self._had_work = bool(batch)
        return batch

    async def _stop_overdue(self, ctx: CrawlContext) -> None:
        """The crawl ran past its max_duration: stop it (its queue dropped, what it found kept)."""
        if await self.scripts.stop(ctx.id, time.time(), "limit_duration"):
            logger.info("crawl %s stopped: time limit reached (%d s)", ctx.id, ctx.options.max_duration or 0)
        self.active.discard(ctx.id)

    async def _lease_from(self, crawl_id: str, count: int, room: int,
                          batch: list[tuple[CrawlContext, FrontierMessage]]) -> int:
        """Lease up to ``count`` messages of one crawl into ``batch``; returns the room left."""
        raws = await self.scripts.pop(crawl_id, count, self.worker_id, time.time())
        if not raws:
            return room
        ctx = await self._context(crawl_id)
        put_off: list[str] = []
        for raw in raws:
            msg = FrontierMessage.decode(raw)
            host = host_of(msg.url)
            if self.host_cap and msg.kind is MessageKind.CHECK and not ctx.in_scope(host) and \
                    self.held_by_host[host] >= self.host_cap and self.host_verdict(crawl_id, host) is None:
                put_off.append(msg.url)
                continue
            self.held_by_host[host] += 1
            self.leased[crawl_id, msg.url] += 1
            self._waiting.add((crawl_id, msg.url))
            batch.append((ctx, msg))
            room -= 1
        if put_off:  # to the end of the queue: other work first, this host's turn comes again
            await self.scripts.requeue(crawl_id, self.worker_id, put_off, tail=True)
        return room

    def request_reached_downloader(self, request: Any, spider: Any) -> None:
        """The lease's work starts: its clock no longer renewed (the bound counts from here)."""
        lp = request.meta.get("lp")
        if lp:
            self._waiting.discard((lp["crawl"], lp["url"]))

    def context(self, crawl_id: str) -> CrawlContext | None:
        """The context of a crawl this process holds work of."""
        return self.contexts.get(crawl_id)

    def in_scope(self, crawl_id: str, host: str) -> bool:
        """Whether ``host`` is part of the crawl's site (its host, www. twin and same-site rules)."""
        ctx = self.contexts.get(crawl_id)
        return ctx is not None and ctx.in_scope(host)

    async def _context(self, crawl_id: str) -> CrawlContext:
        ctx = self.contexts.get(crawl_id)
        if ctx is None:
            pipe = self.r.pipeline(transaction=False)
            pipe.hgetall(self.keys.crawl(crawl_id))
            pipe.hgetall(self.keys.crawl_headers(crawl_id))
            rec, headers = await pipe.execute()
            options = CrawlOptions.from_json(rec.get("options"))
            started = float(rec.get("started_at") or 0) or time.time()
            ctx = CrawlContext(
                id=crawl_id,
                url=rec.get("url", ""),
                host=rec.get("host", ""),
                options=options,
                rules=CrawlRules.from_options(options, rec.get("host", "")),
                headers=headers,
                default_page_mb=self.default_page_mb,
                deadline=started + options.max_duration if options.max_duration else None,
            )
            if len(self.contexts) > 1000:
                self.contexts.clear()
            self.contexts[crawl_id] = ctx
        return ctx

    # -- host-level verdicts ----------------------------------------------------------------------
    def host_verdict(self, crawl_id: str, host: str) -> ErrorKind | None:
        """How every link of the crawl to ``host`` ends without a request, if the host is known dead."""
        verdicts = self.host_verdicts.get(crawl_id)
        return verdicts.get(host) if verdicts else None

    def note_host_failure(self, crawl_id: str, host: str, kind: ErrorKind) -> None:
        """A request to ``host`` failed with a host-level kind: decide the host for the whole crawl
        (a refused port at its second refusal, at least REFUSED_PAUSE after the first)."""
        if not host or self.host_verdict(crawl_id, host) is not None:
            return
        if kind is ErrorKind.REFUSED:
            now = time.monotonic()
            first = self._refused.setdefault((crawl_id, host), now)
            if now - first < REFUSED_PAUSE:
                return
        self.host_verdicts.setdefault(crawl_id, {})[host] = kind
        logger.info("crawl %s: %s answers %s; its other links there are decided without requests",
                    crawl_id, host, kind)
        task = asyncio.ensure_future(retrying("recording a host verdict", lambda: self.r.hset(
            self.keys.host_verdicts(crawl_id), host, str(kind))))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _read_host_verdicts(self) -> None:
        """Learn the verdicts peers recorded; forget those of crawls no longer running."""
        for crawl_id in list(self.host_verdicts):
            if crawl_id not in self.active:
                del self.host_verdicts[crawl_id]
        self._refused = {k: v for k, v in self._refused.items() if k[0] in self.active}
        crawls = [c for c in self.active if c in self.contexts]
        if not crawls:
            return
        pipe = self.r.pipeline(transaction=False)
        for crawl_id in crawls:
            pipe.hgetall(self.keys.host_verdicts(crawl_id))
        for crawl_id, found in zip(crawls, await pipe.execute(), strict=True):
            if found:
                known = self.host_verdicts.setdefault(crawl_id, {})
                for host, kind in found.items():
                    known.setdefault(host, ErrorKind(kind))

    # -- results -----------------------------------------------------------------------------------
    async def record(self, done: Completion) -> int:
        """Record a checked message (the spider's item) and release its lease: its links in bounded
        batches, then its result, each call retried on its own while Redis cannot serve us. Returns 2
        when it finished the crawl. A page over the per-page cap that names no cap of its own (a
        sitemap's is higher) was cut at this crawler's."""
        if done.links_over_cap and not done.link_cap:
            done.link_cap = self.max_links
        try:
            try:
                return await self._record(done)
            except Exception:  # whatever it was, the url gets a result and the lease goes
                # Not Redis away (``retrying`` waits that out): something in what the page gave us.
                # Its result alone is recorded; a second failure leaves the lease to the bound.
                logger.exception("could not record what %s holds; recording its result alone", done.result.url)
                return await self._record(done.alone())
        finally:
            self.release(done.crawl_id, done.result.url)

    async def _record(self, done: Completion) -> int:
        result: Any = None
        for step in self.scripts.completion_steps(done, now=time.time(), max_referrers=self.max_referrers,
                                                  id_limit=self.trap_ids):
            result = await retrying("recording a result", step)
        return int(result)

    def give_back(self, crawl_id: str, url: str) -> None:
        """A task holding the lease was cancelled: the url goes back to the head of its queue (done by
        another task: the cancelled one cannot await), and the slot is freed."""
        if self.leased[crawl_id, url] <= 0:
            self.leased.pop((crawl_id, url), None)
            return
        self.release(crawl_id, url)
        task = asyncio.ensure_future(retrying("giving a lease back", functools.partial(
            self.scripts.requeue, crawl_id, self.worker_id, [url])))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drop(self, crawl_id: str, url: str) -> None:
        """The crawl was cancelled: give the lease back, record nothing."""
        async def drop_lease() -> None:
            pipe = self.r.pipeline(transaction=False)
            pipe.hdel(self.keys.inflight(crawl_id), url)
            pipe.zrem(self.keys.lease_clock(crawl_id), url)
            await pipe.execute()

        try:
            await retrying("releasing a lease", drop_lease)
        finally:
            self.release(crawl_id, url)
