"""This process's leases: the book of what it holds (``LeaseBook``) and the leasing itself (``Leasing``:
batches from the running crawls, round robin, whenever the process has room; the per-host cap; a lease
given back or dropped). Every lease taken is released exactly once, by whoever ends it: the recorder,
``give_back``, ``drop``, the reaper (an overdue lease of its own), or the render middleware (a page
parked for a crawler that renders)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from crawler.frontier import in_background
from crawler.frontier.contexts import CrawlContext, CrawlContexts
from crawler.frontier.host_verdicts import HostVerdicts
from linkpatrol.frontier import Scripts
from linkpatrol.frontier.leases import LeaseStore
from linkpatrol.model.urls import host_of
from linkpatrol.model.wire import FrontierMessage, MessageKind
from linkpatrol.store.connection import RedisError, retrying, unavailable

if TYPE_CHECKING:
    from crawler.render.routing import RenderRouting

logger = logging.getLogger(__name__)
Batch = list[tuple[CrawlContext, FrontierMessage]]


class LeaseBook:
    """What this process holds, in memory: a count per (crawl, url) (a url given back by a peer that
    thought us dead may come to us twice), per host, in all, and which leases still wait for the
    downloader (their clocks are renewed, so a slow site's pacing never counts against the lease bound)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity  # leases held at most (CONCURRENT_REQUESTS + a small prefetch)
        self.leased: Counter[tuple[str, str]] = Counter()
        self.by_host: Counter[str] = Counter()
        self.held = 0
        self.done = 0  # leases released since the process started
        self.last_crawl = ""  # the crawl of the lease released last
        self.waiting: set[tuple[str, str]] = set()
        self._room = asyncio.Event()

    def take(self, crawl_id: str, url: str) -> None:
        """Note a lease Redis gave this process (counted in ``held`` by ``lent``, per batch)."""
        self.by_host[host_of(url)] += 1
        self.leased[crawl_id, url] += 1
        self.waiting.add((crawl_id, url))

    def lent(self, count: int) -> None:
        self.held += count

    def holds(self, crawl_id: str, url: str) -> bool:
        return self.leased[crawl_id, url] > 0

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
            self.waiting.discard(key)
        host = host_of(url)
        if self.by_host[host] > 1:
            self.by_host[host] -= 1
        else:
            self.by_host.pop(host, None)
        self.held -= 1
        self.done += 1
        self.last_crawl = crawl_id
        self._room.set()

    def reached_downloader(self, crawl_id: str, url: str) -> None:
        """The lease's work starts: its clock is no longer renewed (the bound counts from here)."""
        self.waiting.discard((crawl_id, url))

    async def wait_for_room(self, timeout: float) -> None:
        self._room.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room.wait(), timeout=timeout)


class Leasing:
    """Leases batches of request messages for the spider (``next_batch``) and gives leases back."""

    def __init__(self, book: LeaseBook, store: LeaseStore, scripts: Scripts, crawler_id: str,
                 contexts: CrawlContexts, host_verdicts: HostVerdicts, host_cap: int = 0) -> None:
        self.book = book
        self.store = store
        self.scripts = scripts
        self.crawler_id = crawler_id
        self.contexts = contexts
        self.host_verdicts = host_verdicts
        # At most this many leases per other host at once (0: no cap). Politeness makes requests to a
        # slow or rate-limited host wait; without a cap they would fill every slot of this process
        # and starve the crawl's own pages and every other host.
        self.host_cap = host_cap
        self.render: RenderRouting | None = None  # pages that need a browser (crawler/render)
        self._had_work = False
        self._background: set[asyncio.Task[Any]] = set()
        self._nudged: asyncio.Event | None = None
        self._new_crawl = False

    def nudge(self, new_crawl: bool = False) -> None:
        """Something may be leasable now (this crawler seeded a crawl, ``new_crawl``, or recorded a
        page's links): a ``next_batch`` waiting for work looks again at once instead of at the end of
        its wait, reading the running crawls afresh for a new one."""
        self._new_crawl = self._new_crawl or new_crawl
        if self._nudged is not None:
            self._nudged.set()

    async def _idle(self, seconds: float) -> None:
        nudged = self._nudged
        if nudged is None or nudged.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await nudged.wait()

    async def next_batch(self) -> Batch:
        """Wait until this process has room and the frontier has work, then lease a batch."""
        idle = 0.02
        book = self.book
        # Lease in batches: a round trip per freed slot would cost more than the request itself.
        min_batch = max(1, book.capacity // 4)
        if self._nudged is None:
            self._nudged = asyncio.Event()
        while True:
            room = book.capacity - book.held
            if room <= 0 or (room < min_batch and book.held > 0):
                await book.wait_for_room(1.0)
                continue
            self._nudged.clear()  # a nudge from here on, during the lease, ends the wait below
            batch = await retrying("leasing requests", functools.partial(self._lease, room))
            if batch:
                book.lent(len(batch))
                return batch
            await self._idle(idle)
            # While some crawl is running, its queue may refill any moment (a peer's page is being
            # parsed): keep polling briskly. With nothing running, back off to a quiet 0.25 s.
            idle = min(idle * 2, 0.05 if self.contexts.active else 0.25)

    async def _lease(self, room: int) -> Batch:
        await self.contexts.refresh_active(force=not self._had_work or self._new_crawl)
        self._new_crawl = False
        await self.host_verdicts.refresh()
        crawls = list(self.contexts.active)
        random.shuffle(crawls)
        batch: Batch = []
        if self.render is not None:  # pages parked for a crawler that renders: first, they waited already
            room = await self.render.lease(crawls, room, batch)
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
        self.contexts.active.discard(ctx.id)

    async def _lease_from(self, crawl_id: str, count: int, room: int, batch: Batch) -> int:
        """Lease up to ``count`` messages of one crawl into ``batch``; returns the room left."""
        raws = await self.scripts.pop(crawl_id, count, self.crawler_id, time.time())
        if not raws:
            return room
        ctx = await self.contexts.load(crawl_id)
        put_off: list[str] = []
        for raw in raws:
            msg = FrontierMessage.decode(raw)
            if self._over_host_cap(ctx, msg):
                put_off.append(msg.url)
                continue
            self.book.take(crawl_id, msg.url)
            batch.append((ctx, msg))
            room -= 1
        if put_off:  # to the end of the queue: other work first, this host's turn comes again
            await self.scripts.requeue(crawl_id, self.crawler_id, put_off, tail=True)
        return room

    def _over_host_cap(self, ctx: CrawlContext, msg: FrontierMessage) -> bool:
        """A check of another host that holds ``host_cap`` leases of this process already (a host
        known dead is decided without a request, so never held back)."""
        if not self.host_cap or msg.kind is not MessageKind.CHECK:
            return False
        host = host_of(msg.url)
        return not ctx.in_scope(host) and self.book.by_host[host] >= self.host_cap and \
            self.host_verdicts.verdict(ctx.id, host) is None

    def give_back(self, crawl_id: str, url: str) -> None:
        """A task holding the lease was cancelled: the url goes back to the head of its queue (done by
        another task: the cancelled one cannot await), and the slot is freed."""
        if not self.book.holds(crawl_id, url):
            self.book.leased.pop((crawl_id, url), None)
            return
        self.book.release(crawl_id, url)
        in_background(self._background, retrying("giving a lease back", functools.partial(
            self.scripts.requeue, crawl_id, self.crawler_id, [url])))

    async def drop(self, crawl_id: str, url: str) -> None:
        """The crawl was cancelled: give the lease back, record nothing."""
        try:
            await retrying("releasing a lease", functools.partial(self.store.drop, crawl_id, url))
        finally:
            self.book.release(crawl_id, url)
