"""The crawler side of the frontier, as a Scrapy extension: it owns this process's leases.

One per crawler process. It builds the frontier's components (``crawler/frontier``), each given only
what it needs, runs their lifecycle (registration with a heartbeat, the reaper, the stop watchdog) and
hands them out: the spider, the pipeline and the middlewares find it with ``frontier_of(crawler)`` and
use the component they need, ``.contexts`` (the crawls and their options), ``.host_verdicts``,
``.leases`` (leasing, giving back, dropping; ``.leases.book``: what this process holds) or
``.recorder`` (a checked url into the frontier). Once the engine is stopping, a watchdog thread ends the
process ``LINKPATROL_STOP_GRACE`` seconds later whatever its threads do, after giving the leases back.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from scrapy_redis import connection

from crawler.frontier.contexts import CrawlContexts
from crawler.frontier.group_commit import GroupCommit
from crawler.frontier.host_verdicts import HostVerdicts
from crawler.frontier.leases import LeaseBook, Leasing
from crawler.frontier.reaper import OverdueLeases, Reaper
from crawler.frontier.recording import Recorder
from crawler.frontier.registration import Registration, StopWatchdog, new_crawler_id
from crawler.frontier.wake import listen_for_crawl_starts
from crawler.logs import quiet_robots_failures
from crawler.render.routing import RenderRouting
from linkpatrol.frontier import Scripts
from linkpatrol.frontier.host_verdicts import HostVerdictStore
from linkpatrol.frontier.leases import LeaseStore
from linkpatrol.frontier.running_crawls import RunningCrawls
from linkpatrol.store.connection import AsyncClient, RedisError, SyncClient, retrying, unavailable
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import Heartbeats

logger = logging.getLogger(__name__)

STOP_WATCH = 0.5  # seconds between looks at whether the engine began to stop


def redis_from_settings(settings: BaseSettings, cls: type = AsyncClient, **params: Any) -> Any:
    """A client (asyncio unless ``cls`` says otherwise) from the Scrapy settings REDIS_URL and
    REDIS_PARAMS (``params`` override them), through scrapy-redis's connection module; the client
    class is the core's whatever REDIS_PARAMS says. Handed only what scrapy-redis reads (REDIS_PARAMS
    and the REDIS_* settings of its map): a copy of every setting, deep-copied for each of a crawler's
    four clients, took 26 ms of its start."""
    picked: dict[str, Any] = {name: settings.get(name) for name in connection.SETTINGS_PARAMS_MAP}
    picked["REDIS_PARAMS"] = {**settings.getdict("REDIS_PARAMS"), **params, "redis_cls": cls}
    return connection.get_redis_from_settings(BaseSettings(picked, priority="cmdline"))


def crawler_keys(crawler: Crawler) -> Keys:
    s = crawler.settings
    return Keys(s.get("LINKPATROL_PREFIX"), s.get("REDIS_START_URLS_KEY", "") % {"name": "links"})


def frontier_of(crawler: Crawler) -> FrontierExtension:
    """The crawler's frontier extension, for components built after it (middlewares, pipelines)."""
    frontier = crawler.get_extension(FrontierExtension)
    if frontier is None:
        raise NotConfigured("EXTENSIONS must enable crawler.extensions.frontier.FrontierExtension")
    return frontier


@dataclass(frozen=True)
class FrontierConfig:
    """The crawler's frontier settings, read once."""

    capacity: int  # leases held at most: CONCURRENT_REQUESTS + LINKPATROL_PREFETCH
    # Leases per other host at once (LINKPATROL_HOST_LEASES; 0: no cap; below 0: twice what the shared
    # politeness lets through at once).
    host_cap: int = 0
    crawler_ttl: float = 15.0  # LINKPATROL_WORKER_TTL
    reap_interval: float = 5.0  # LINKPATROL_REAP_INTERVAL
    max_referrers: int = 1000  # LINKPATROL_MAX_REFERRERS
    redis_location: str = ""  # REDIS_URL without its credentials, for the log
    default_page_mb: int = 32  # LINKPATROL_MAX_PAGE_SIZE
    max_links: int = 10_000  # links taken from one page (LINKPATROL_MAX_LINKS_PER_PAGE)
    trap_ids: int = 0  # urls of one id template followed (LINKPATROL_TRAP_IDS; 0: no limit)
    lease_max: float = 300.0  # LINKPATROL_LEASE_MAX_SECONDS (0: never)
    stop_grace: float = 3.0  # LINKPATROL_STOP_GRACE (0: no watchdog)
    lease_attempts: int = 3  # LINKPATROL_LEASE_ATTEMPTS (0: no bound)

    @classmethod
    def from_settings(cls, s: BaseSettings) -> FrontierConfig:
        host_cap = s.getint("LINKPATROL_HOST_LEASES")
        if host_cap < 0:  # default: twice what the shared politeness lets through at once
            polite = s.getbool("LINKPATROL_POLITENESS_ENABLED") and s.getint("LINKPATROL_HOST_CONCURRENCY") > 0
            host_cap = 2 * s.getint("LINKPATROL_HOST_CONCURRENCY") if polite else 0
        return cls(
            capacity=s.getint("CONCURRENT_REQUESTS") + s.getint("LINKPATROL_PREFETCH", 16),
            host_cap=host_cap,
            crawler_ttl=s.getfloat("LINKPATROL_WORKER_TTL"),
            reap_interval=s.getfloat("LINKPATROL_REAP_INTERVAL"),
            max_referrers=s.getint("LINKPATROL_MAX_REFERRERS"),
            redis_location=str(s.get("REDIS_URL") or "").split("@")[-1],
            default_page_mb=s.getint("LINKPATROL_MAX_PAGE_SIZE", 32),
            max_links=s.getint("LINKPATROL_MAX_LINKS_PER_PAGE", 10_000),
            trap_ids=s.getint("LINKPATROL_TRAP_IDS"),
            lease_max=s.getfloat("LINKPATROL_LEASE_MAX_SECONDS", 300.0),
            lease_attempts=s.getint("LINKPATROL_LEASE_ATTEMPTS", 3),
            stop_grace=s.getfloat("LINKPATROL_STOP_GRACE", 3.0),
        )


class FrontierExtension:
    def __init__(self, client: Any, keys: Keys, config: FrontierConfig,
                 sync_client: Callable[[], Any] | None = None) -> None:
        self.r: Any = client  # decode_responses=True: every reply is str
        self.keys = keys
        self.config = config
        crawler_id = new_crawler_id()
        scripts = Scripts(client, keys)
        store = LeaseStore(client, keys)
        book = LeaseBook(config.capacity)
        self.contexts = CrawlContexts(RunningCrawls(client, keys), store, config.default_page_mb)
        self.host_verdicts = HostVerdicts(HostVerdictStore(client, keys), self.contexts)
        self.leases = Leasing(book, store, scripts, crawler_id, self.contexts, self.host_verdicts, config.host_cap)
        self.recorder = Recorder(scripts, book, max_referrers=config.max_referrers, max_links=config.max_links,
                                 trap_ids=config.trap_ids, group=GroupCommit(client), queued=self.leases.nudge)
        heartbeats = Heartbeats(client, keys, crawler_id, config.crawler_ttl)
        overdue = OverdueLeases(store, scripts, self.recorder, self.contexts, crawler_id, config.lease_max)
        self.reaper = Reaper(store, scripts, heartbeats, book, overdue, config.lease_attempts)
        self.registration = Registration(heartbeats, book, lambda: self.render.pages if self.render else 0)
        self.watchdog = StopWatchdog(keys, crawler_id, config.stop_grace, sync_client)
        self._tasks: list[asyncio.Task[None]] = []
        self._opened: asyncio.Future[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        ext = cls(redis_from_settings(s), crawler_keys(crawler), FrontierConfig.from_settings(s),
                  sync_client=functools.partial(redis_from_settings, s, SyncClient, socket_timeout=2,
                                                socket_connect_timeout=2))
        ext.watchdog.engine_running = lambda: crawler.engine is None or crawler.engine.running
        ext.use_render(RenderRouting.from_settings(s, ext.r, ext.keys, ext.leases.book, ext.contexts,
                                                   ext.crawler_id))
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.request_reached_downloader, signal=signals.request_reached_downloader)
        quiet_robots_failures()
        return ext

    @property
    def crawler_id(self) -> str:
        return self.registration.crawler_id

    @property
    def render(self) -> RenderRouting | None:
        """Pages that need a browser (crawler/render): who renders them, where they wait."""
        return self.leases.render

    def use_render(self, render: RenderRouting | None) -> None:
        self.leases.render = self.reaper.render = render

    # -- lifecycle ---------------------------------------------------------------------------------
    async def open(self) -> None:
        """Register this crawler and start the heartbeat and the reaper (once; the spider awaits it)."""
        if self._opened is None:
            self._opened = asyncio.ensure_future(self._open())
        await self._opened

    async def _open(self) -> None:
        await retrying("start-up", self.r.ping)
        await retrying("crawler registration", self.registration.beat)
        self._tasks = [
            asyncio.create_task(self._every(self.config.crawler_ttl / 4, self.registration.beat, "heartbeat")),
            asyncio.create_task(self._every(self.config.reap_interval, self.reaper.reap, "reaper")),
            asyncio.create_task(self._watch_engine()),
            asyncio.create_task(listen_for_crawl_starts(self.r, self.keys,
                                                        lambda _: self.leases.nudge(new_crawl=True))),
        ]
        logger.info("crawler %s registered (Redis %s)", self.crawler_id, self.config.redis_location)

    async def spider_closed(self, spider: Any, reason: str) -> None:
        """Give back what this process still holds, so another crawler picks it up at once."""
        for task in self._tasks:
            task.cancel()
        try:
            returned = await self.reaper.requeue_crawler(self.crawler_id)
            await self.registration.leave()
            if returned:
                logger.info("returned %d in-flight requests to the frontier", returned)
        except (RedisError, OSError) as exc:
            if not unavailable(exc):
                raise
            logger.warning("could not return in-flight requests (%s); the reaper of a peer will", exc)
        await self.r.aclose()

    def stopping(self) -> None:
        """The engine began to stop (SIGTERM, SIGINT): the watchdog bounds how long it may take."""
        self.watchdog.start()

    async def _watch_engine(self) -> None:
        """``stopping`` once the engine stops running. The spider's ``start()`` says so too, but only
        when the engine stopped while awaiting it: stopped while ``start()`` sat at a ``yield`` (the
        engine between two of a batch's requests), it is never resumed nor closed, and a request
        that never ends held the process for ever (seen once in a few SIGTERM tests)."""
        while self.watchdog.engine_running():
            await asyncio.sleep(STOP_WATCH)
        self.stopping()

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

    def request_reached_downloader(self, request: Any, spider: Any) -> None:
        """The lease's work starts: its clock no longer renewed (the bound counts from here)."""
        lp = request.meta.get("lp")
        if lp:
            self.leases.book.reached_downloader(lp["crawl"], lp["url"])
