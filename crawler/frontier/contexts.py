"""The crawls this process works for: which are running (the active set, read at most every 0.25 s
while work flows), and the context of each crawl it holds work of (options, rules, headers), read once
from Redis (``linkpatrol.frontier.running_crawls``). The spider and the downloader middlewares ask
here: ``frontier_of(crawler).contexts``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from linkpatrol.frontier.leases import LeaseStore
from linkpatrol.frontier.running_crawls import RunningCrawls
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.rules import CrawlRules

MB = 1024 * 1024
ACTIVE_EVERY = 0.25  # seconds between reads of the active set while work flows
KEPT = 1000  # contexts kept at most (then forgotten all at once and read again as needed)


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


class CrawlContexts:
    def __init__(self, crawls: RunningCrawls, leases: LeaseStore, default_page_mb: int = 32) -> None:
        self.crawls = crawls
        self.leases = leases
        self.default_page_mb = default_page_mb  # a crawl's page size cap when it sets none (LINKPATROL_MAX_PAGE_SIZE)
        self.active: set[str] = set()  # the running crawls, as last read
        self._refreshed = 0.0  # when the active set was last read (monotonic)
        self._known: dict[str, CrawlContext] = {}

    # -- which crawls run --------------------------------------------------------------------------
    def is_active(self, crawl_id: str) -> bool:
        return crawl_id in self.active

    async def refresh_active(self, force: bool = False) -> None:
        """Read the active set again when it is older than ``ACTIVE_EVERY`` (or ``force``)."""
        now = time.monotonic()
        if force or now - self._refreshed > ACTIVE_EVERY:
            self.active = await self.leases.active()
            self._refreshed = now

    # -- each crawl's context ------------------------------------------------------------------------
    def get(self, crawl_id: str) -> CrawlContext | None:
        """The context of a crawl this process holds work of (None when it holds none)."""
        return self._known.get(crawl_id)

    def __contains__(self, crawl_id: str) -> bool:
        return crawl_id in self._known

    def options(self, crawl_id: str) -> CrawlOptions | None:
        """The options of a crawl this process holds work of (None when it holds none)."""
        ctx = self._known.get(crawl_id)
        return ctx.options if ctx else None

    def in_scope(self, crawl_id: str, host: str) -> bool:
        """Whether ``host`` is part of the crawl's site (its host, www. twin and same-site rules)."""
        ctx = self._known.get(crawl_id)
        return ctx is not None and ctx.in_scope(host)

    def sites_of(self, host: str) -> list[CrawlContext]:
        """The running crawls this process holds work of whose site ``host`` is part of."""
        return [ctx for crawl_id, ctx in self._known.items() if crawl_id in self.active and ctx.in_scope(host)]

    async def load(self, crawl_id: str) -> CrawlContext:
        """The crawl's context, read from Redis the first time."""
        ctx = self._known.get(crawl_id)
        if ctx is None:
            crawl = await self.crawls.read(crawl_id)
            options = crawl.options
            started = crawl.started_at or time.time()
            ctx = CrawlContext(
                id=crawl_id,
                url=crawl.url,
                host=crawl.host,
                options=options,
                rules=CrawlRules.from_options(options, crawl.host),
                headers=crawl.headers,
                default_page_mb=self.default_page_mb,
                deadline=started + options.max_duration if options.max_duration else None,
            )
            if len(self._known) > KEPT:
                self._known.clear()
            self._known[crawl_id] = ctx
        return ctx
