"""Recording a checked url (the spider's item, a ``wire.Completion``): its links in bounded batches
(LINKS), then its result (COMPLETE), each call retried on its own while Redis cannot serve
(``Scripts.completion_steps``); with a ``GroupCommit``, the calls of urls that finish together share a
pipeline. The lease is released on every path: a completion that cannot be recorded with its links is
recorded alone, and a second failure leaves the lease to the lease bound."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from crawler.frontier.group_commit import GroupCommit, in_turn
from crawler.frontier.leases import LeaseBook
from linkpatrol.frontier import Scripts
from linkpatrol.model.wire import Completion

logger = logging.getLogger(__name__)


class Recorder:
    def __init__(self, scripts: Scripts, book: LeaseBook, *, max_referrers: int, max_links: int = 10_000,
                 trap_ids: int = 0, group: GroupCommit | None = None,
                 queued: Callable[[], None] = lambda: None) -> None:
        self.scripts = scripts
        self.group = group
        self.queued = queued  # called once a page's links are in the frontier (``Leasing.nudge``)
        self.book = book
        self.max_referrers = max_referrers  # referrers kept per url (LINKPATROL_MAX_REFERRERS)
        self.max_links = max_links  # links taken from one page (LINKPATROL_MAX_LINKS_PER_PAGE)
        self.trap_ids = trap_ids  # urls of one id template followed (LINKPATROL_TRAP_IDS; 0: no limit)

    async def record(self, done: Completion) -> int:
        """Record a checked message (the spider's item) and release its lease. Returns 2 when it
        finished the crawl. A page over the per-page cap that names no cap of its own (a sitemap's is
        higher) was cut at this crawler's."""
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
            self.book.release(done.crawl_id, done.result.url)

    async def _record(self, done: Completion) -> int:
        calls = self.scripts.completion_steps(done, now=time.time(), max_referrers=self.max_referrers,
                                              id_limit=self.trap_ids)
        result: Any = await (self.group.run(calls) if self.group else in_turn(calls))
        if done.links:
            self.queued()
        return int(result)

    async def record_decided(self, done: Completion) -> None:
        """Record a lease the reaper decided (``OverdueLease.completion``); its slot is the reaper's
        to free."""
        await in_turn(self.scripts.completion_steps(done, now=time.time(), max_referrers=self.max_referrers),
                      "recording an overdue lease")
