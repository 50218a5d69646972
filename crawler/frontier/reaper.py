"""Nothing lost (docs/ARCHITECTURE.md, "Invariants"): every ``LINKPATROL_REAP_INTERVAL`` seconds each
crawler puts back the leases and claimed start messages of crawlers whose heartbeat expired (REQUEUE; a
url that stopped ``LINKPATROL_LEASE_ATTEMPTS`` crawlers is decided ``timeout`` instead), the leases
Redis says it holds but it lost track of (``audit_own_leases``), and decides every lease held past
``LINKPATROL_LEASE_MAX_SECONDS`` (OVERDUE, ``OverdueLeases``): a lease whose task was lost costs one url,
never a crawl."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from crawler.frontier.contexts import CrawlContexts
from crawler.frontier.leases import LeaseBook
from crawler.frontier.recording import Recorder
from linkpatrol.frontier import OverdueLease, Scripts, dead_requeued
from linkpatrol.frontier.leases import LeaseStore
from linkpatrol.model.urls import host_of
from linkpatrol.store.registry import Heartbeats

if TYPE_CHECKING:
    from crawler.render.routing import RenderRouting

logger = logging.getLogger(__name__)


class OverdueLeases:
    """Leases (of any crawler) whose work started more than ``lease_max`` seconds ago: taken over and
    recorded ``timeout`` rather than queued again to fail the same way."""

    def __init__(self, store: LeaseStore, scripts: Scripts, recorder: Recorder, contexts: CrawlContexts,
                 crawler_id: str, lease_max: float) -> None:
        self.store = store
        self.scripts = scripts
        self.recorder = recorder
        self.contexts = contexts
        self.crawler_id = crawler_id
        # A lease whose work started longer ago than this is decided (LINKPATROL_LEASE_MAX_SECONDS; 0: never).
        self.lease_max = lease_max
        self.deciding: set[tuple[str, str]] = set()  # leases this crawler took over and is recording

    async def renew_waiting(self, book: LeaseBook) -> None:
        """Restart the clocks of the leases still waiting their turn for the downloader."""
        await self.store.renew_clocks(book.waiting, time.time())

    async def decide_all(self, book: LeaseBook) -> int:
        """Decide every overdue lease of the running crawls; returns how many."""
        decided = 0
        cutoff = time.time() - self.lease_max
        for crawl_id in await self.store.active():
            while leases := OverdueLease.parse(await self.scripts.overdue(crawl_id, cutoff, self.crawler_id)):
                for lease in leases:
                    await self.decide(book, crawl_id, lease, f"was held by {lease.crawler} for more than "
                                                              f"{self.lease_max:.0f} s")
                    decided += 1
        return decided

    async def decide(self, book: LeaseBook, crawl_id: str, lease: OverdueLease, why: str) -> None:
        """Record a lease taken over as ``timeout``; a lease of this crawler's frees its slot (the task
        that held it will never give it back)."""
        key = (crawl_id, lease.url)
        self.deciding.add(key)
        try:
            ctx = await self.contexts.load(crawl_id)
            done = lease.completion(crawl_id, external=not ctx.in_scope(host_of(lease.url)))
            await self.recorder.record_decided(done)
            logger.warning("crawl %s: %s %s; decided %s", crawl_id, lease.url, why, done.result.error)
        finally:
            self.deciding.discard(key)
        if lease.crawler == self.crawler_id:
            book.release(crawl_id, lease.url)


class Reaper:
    def __init__(self, store: LeaseStore, scripts: Scripts, heartbeats: Heartbeats, book: LeaseBook,
                 overdue: OverdueLeases, lease_attempts: int = 3) -> None:
        self.store = store
        self.scripts = scripts
        self.heartbeats = heartbeats
        self.book = book
        self.overdue = overdue
        # Crawlers a url may stop (their heartbeat expired while they held it) before it is decided
        # ``timeout`` instead of queued again (LINKPATROL_LEASE_ATTEMPTS; 0: no bound).
        self.lease_attempts = lease_attempts
        self.render: RenderRouting | None = None  # parked pages no live crawler renders (crawler/render)
        self._suspects: set[tuple[str, str]] = set()

    @property
    def crawler_id(self) -> str:
        return self.heartbeats.crawler_id

    async def reap(self) -> int:
        """Put back the leases and claimed start messages of crawlers whose heartbeat expired, and
        this crawler's own orphaned leases; decide the leases held past the bound."""
        total = await self.audit_own_leases()
        for crawler_id in await self.heartbeats.dead_peers():
            total += await self.requeue_crawler(crawler_id, dead=True)
            await self.heartbeats.forget(crawler_id)
            logger.warning("crawler %s stopped answering; its work went back to the frontier", crawler_id)
        if self.render is not None:  # parked pages no live crawler can render: read as they are
            total += await self.render.reap()
        if self.overdue.lease_max > 0:
            await self.overdue.renew_waiting(self.book)
            total += await self.overdue.decide_all(self.book)
        return total

    async def audit_own_leases(self) -> int:
        """Leases Redis says this crawler holds but this process does not know of: a lease whose
        reply was lost (the connection dropped after the POP ran, or a client retry ran it twice).
        Nobody would ever finish them, so the crawl would never end. A lease is put back when it
        looks orphaned in two audits in a row (one look could race with a reply on its way)."""
        seen: set[tuple[str, str]] = set()
        for crawl_id in await self.store.active():
            for url in await self.store.held_by(crawl_id, self.crawler_id):
                if (crawl_id, url) not in self.book.leased and (crawl_id, url) not in self.overdue.deciding:
                    seen.add((crawl_id, url))
        orphans, self._suspects = seen & self._suspects, seen - self._suspects
        by_crawl: dict[str, list[str]] = {}
        for crawl_id, url in orphans:
            by_crawl.setdefault(crawl_id, []).append(url)
        total = 0
        for crawl_id, urls in by_crawl.items():
            total += int(await self.scripts.requeue(crawl_id, self.crawler_id, urls))
        if total:
            logger.warning("put back %d leases this crawler had lost track of (a reply lost with Redis)", total)
        return total

    async def requeue_crawler(self, crawler_id: str, dead: bool = False) -> int:
        """Put back ``crawler_id``'s leases and claimed start messages. ``dead``: its heartbeat
        expired; a url that stopped ``lease_attempts`` crawlers so (the last one included) is decided
        instead, rather than queued to stop the next one."""
        total = 0
        for crawl_id in await self.store.active():
            if not dead:
                total += int(await self.scripts.requeue(crawl_id, crawler_id))
                continue
            returned, taken = dead_requeued(await self.scripts.requeue_dead(crawl_id, crawler_id, self.crawler_id,
                                                                            self.lease_attempts))
            total += returned
            for lease in taken:
                await self.overdue.decide(self.book, crawl_id, lease, f"was held by {lease.message.attempts} "
                                                                      f"crawlers that stopped answering, the "
                                                                      f"last {lease.crawler}")
        return total + await self.store.give_back_claimed(crawler_id)
