"""Politeness shared by every crawler process: per-host concurrency, request rate and "not before".

A downloader middleware. Before a request goes out, a host with limits needs a slot from Redis: one Lua
call checks the host's shared "not before", takes a concurrency lease (a sorted set of tokens scored by
their expiry, so a killed crawler's slots free themselves) and a token from the host's bucket, and gives
back the slots this process released since its last call, all in one round trip. Slots released
with no acquire to carry them are flushed together a moment later.

A host without limits (by default the site being crawled) costs no round trip per request: its "not
before" is cached in the process, refreshed from Redis at most every few seconds per host, and pushed to
every crawler at once over pub/sub when some crawler sees a 429 (or a 503 with Retry-After). A run of
429s without Retry-After backs the host off exponentially.

Waiting is ``asyncio.sleep``: the reactor never blocks. Keys live under ``{prefix}:host:...`` with TTLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Self

import redis.asyncio as aioredis
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.config import Config
from crawler.feeder import REDIS_DOWN, connect
from crawler.keys import Keys
from crawler.middlewares import retry_after_seconds
from crawler.urls import host_of

logger = logging.getLogger(__name__)

META = "lp_host_slot"

# KEYS: slots, bucket, not-before. ARGV: concurrency, rate/s, burst, token, lease ms, bucket ttl ms,
# then tokens to release. Returns {1, 0} when granted, {0, ms to wait} or {0, -1} when every slot is taken.
ACQUIRE = """
for i = 7, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
local wait = redis.call('PTTL', KEYS[3])
if wait > 0 then return {0, wait} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local conc = tonumber(ARGV[1])
if conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= conc then return {0, -1} end
end
local rate = tonumber(ARGV[2])
if rate > 0 then
  local burst = tonumber(ARGV[3])
  local b = redis.call('HMGET', KEYS[2], 't', 'ts')
  local tokens = tonumber(b[1]) or burst
  local ts = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
  if tokens < 1 then return {0, math.ceil((1 - tokens) * 1000 / rate)} end
  redis.call('HSET', KEYS[2], 't', tostring(tokens - 1), 'ts', now)
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
if conc > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return {1, 0}
"""

# KEYS: not-before, strikes. ARGV: host, wait ms (-1: a 429 without Retry-After), base ms, max ms,
# strikes before backing off, channel. Returns the wait now in force because of this answer (0: none).
PENALIZE = """
local wait = tonumber(ARGV[2])
if wait < 0 then
  local n = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], 60000)
  local at = tonumber(ARGV[5])
  if n < at then return 0 end
  wait = tonumber(ARGV[3]) * 2 ^ (n - at)
end
wait = math.floor(math.min(wait, tonumber(ARGV[4])))
if wait <= 0 or redis.call('PTTL', KEYS[1]) >= wait then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', wait)
redis.call('PUBLISH', ARGV[6], ARGV[1] .. ' ' .. wait)
return wait
"""


@dataclass(frozen=True)
class Limits:
    concurrency: int = 0  # requests under way at once, across all crawlers; 0: no shared limit
    rate: float = 0.0  # requests per second, across all crawlers; 0: no shared limit

    @property
    def unlimited(self) -> bool:
        return self.concurrency <= 0 and self.rate <= 0

    @property
    def burst(self) -> float:
        return max(1.0, self.rate / 5)  # at most a fifth of a second's worth at once


@dataclass
class HostState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    held: int = 0  # slots this process holds
    pending: list[str] = field(default_factory=list)  # released tokens not yet removed in Redis
    not_before: float = 0.0  # time.monotonic() before which nobody may send to the host
    checked: float = -1e9  # when the shared not-before was last read (hosts without limits)
    strikes: bool = False  # this process saw a 429 from the host: clear the run on the next success


class PolitenessMiddleware:
    def __init__(self, crawler: Crawler, client: aioredis.Redis, keys: Keys) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.r = client
        self.keys = keys
        self.external = Limits(s.getint("LINKPATROL_HOST_CONCURRENCY", 2), s.getfloat("LINKPATROL_HOST_RATE", 5.0))
        self.site = Limits(s.getint("LINKPATROL_SITE_CONCURRENCY", 0), s.getfloat("LINKPATROL_SITE_RATE", 0.0))
        self.max_wait_ms = int(s.getfloat("LINKPATROL_HOST_WAIT_MAX", 60.0) * 1000)
        self.backoff_ms = int(s.getfloat("LINKPATROL_HOST_BACKOFF", 2.0) * 1000)
        self.strikes_at = s.getint("LINKPATROL_HOST_STRIKES", 3)
        self.refresh = s.getfloat("LINKPATROL_HOST_REFRESH", 5.0)
        self.lease_ms = int((s.getfloat("DOWNLOAD_TIMEOUT", 180) + 15) * 1000)
        self._acquire = client.register_script(ACQUIRE)
        self._penalize = client.register_script(PENALIZE)
        self._worker = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._seq = itertools.count()
        self._hosts: dict[str, HostState] = {}
        self._held: dict[str, str] = {}  # token -> host
        self._known: dict[str, Limits] = {}  # host -> limits last applied (for requests without a crawl)
        self._listener: asyncio.Task[None] | None = None
        self._flush: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("LINKPATROL_POLITENESS_ENABLED", True):
            raise NotConfigured("LINKPATROL_POLITENESS_ENABLED is off")
        config = Config.from_env()
        mw = cls(crawler, connect(config), Keys(config.prefix))
        crawler.signals.connect(mw.close, signal=signals.spider_closed)
        return mw

    # -- the middleware ----------------------------------------------------------------------------
    async def process_request(self, request: Request) -> None:
        host = host_of(request.url)
        if not host:
            return
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
        limits = self._limits(request, host)
        st = self._state(host)
        if limits.unlimited:
            await self._not_before(host, st)
        else:
            await self._take_slot(request, host, st, limits)

    async def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        host = host_of(request.url)
        status = response.status
        if status == 429 or status == 503:
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait is not None or status == 429:
                await self.slow_down(host, wait)
        elif host in self._hosts and self._hosts[host].strikes:
            self._hosts[host].strikes = False
            self._spawn(self.r.delete(self.keys.host_strikes(host)))
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self._release(request)

    # -- limits ------------------------------------------------------------------------------------
    def _limits(self, request: Request, host: str) -> Limits:
        lp = request.meta.get("lp")
        if not lp:  # robots.txt and the like: whatever applied to the host last
            return self._known.get(host, self.external)
        if host != lp.get("scope"):
            limits = self.external
        else:
            spider: Any = self.crawler.spider
            ctx = spider.feeder.contexts.get(lp["crawl"]) if spider is not None else None
            options = ctx.options if ctx is not None else None
            conc = getattr(options, "site_concurrency", None)
            rate = getattr(options, "site_rate", None)
            limits = Limits(
                self.site.concurrency if conc is None else conc,
                self.site.rate if rate is None else rate,
            )
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[host] = limits
        return limits

    def _state(self, host: str) -> HostState:
        st = self._hosts.get(host)
        if st is None:
            if len(self._hosts) > 10_000:
                self._prune()
            st = self._hosts[host] = HostState()
        return st

    def _prune(self) -> None:
        now = time.monotonic()
        for host, st in list(self._hosts.items()):
            if not st.held and not st.pending and not st.lock.locked() and st.not_before < now:
                del self._hosts[host]

    # -- waiting -----------------------------------------------------------------------------------
    async def _not_before(self, host: str, st: HostState) -> None:
        """Hosts without limits: honour the shared not-before, read from Redis at most every few seconds."""
        now = time.monotonic()
        if now - st.checked > self.refresh:
            st.checked = now
            try:
                ms = await self.r.pttl(self.keys.host_not_before(host))
            except REDIS_DOWN as exc:
                logger.debug("not-before of %s unknown: %s", host, exc)
                ms = -2
            if ms > 0:
                st.not_before = max(st.not_before, now + ms / 1000)
        await self._sleep_until(st.not_before)

    async def _sleep_until(self, deadline: float) -> None:
        delay = deadline - time.monotonic()
        if delay > 0:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("politeness/delayed")
            await asyncio.sleep(delay)

    async def _take_slot(self, request: Request, host: str, st: HostState, limits: Limits) -> None:
        token = f"{self._worker}:{next(self._seq)}"
        k = self.keys
        backoff = 0.02
        async with st.lock:  # one request per host and process asks Redis at a time; the others queue here
            while True:
                await self._sleep_until(st.not_before)
                if limits.concurrency and st.held >= limits.concurrency:
                    st.released.clear()  # this process holds every slot: wait for one of ours to end
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(st.released.wait(), timeout=1.0)
                    continue
                releases, st.pending = st.pending, []
                try:
                    granted, wait_ms = await self._acquire(
                        keys=[k.host_slots(host), k.host_bucket(host), k.host_not_before(host)],
                        args=[limits.concurrency, limits.rate, limits.burst, token, self.lease_ms, 60_000, *releases],
                    )
                except REDIS_DOWN as exc:
                    st.pending = releases + st.pending
                    logger.debug("politeness slot for %s: Redis unreachable (%s)", host, exc)
                    await asyncio.sleep(1.0)
                    continue
                if granted:
                    break
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("politeness/delayed")
                if wait_ms > 0:
                    await asyncio.sleep(wait_ms / 1000)
                else:
                    await asyncio.sleep(backoff * (1 + random.random()))
                    backoff = min(backoff * 2, 0.25)
            st.held += 1
        self._held[token] = host
        request.meta[META] = token

    # -- slowing a host down -----------------------------------------------------------------------
    async def slow_down(self, host: str, wait: float | None) -> None:
        """A 429 (or a 503 with Retry-After) from ``host``: every crawler leaves it alone for the wait it
        asked for, or, after a run of 429s without one, for an exponential back-off."""
        st = self._state(host)
        st.strikes = True
        wait_ms = -1 if wait is None else int(wait * 1000)
        try:
            applied = await self._penalize(
                keys=[self.keys.host_not_before(host), self.keys.host_strikes(host)],
                args=[host, wait_ms, self.backoff_ms, self.max_wait_ms, self.strikes_at, self.keys.host_events],
            )
        except REDIS_DOWN as exc:
            logger.debug("could not share the back-off of %s: %s", host, exc)
            applied = max(0, min(wait_ms, self.max_wait_ms))
        if applied:
            st.not_before = max(st.not_before, time.monotonic() + applied / 1000)
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("politeness/slowed_down")
            logger.info("%s asked to slow down: every crawler waits %.1fs", host, applied / 1000)

    async def _listen(self) -> None:
        """Learn at once when another crawler slowed a host down."""
        while True:
            pubsub = self.r.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.keys.host_events)
                for st in self._hosts.values():
                    st.checked = -1e9  # events may have been missed while unsubscribed
                while True:
                    msg = await pubsub.get_message(timeout=5.0)
                    if msg and isinstance(msg.get("data"), str):
                        host, _, ms = msg["data"].rpartition(" ")
                        if host and ms.isdigit():
                            st = self._state(host)
                            st.not_before = max(st.not_before, time.monotonic() + int(ms) / 1000)
            except REDIS_DOWN as exc:
                logger.debug("host events: Redis unreachable (%s)", exc)
                await asyncio.sleep(1.0)
            finally:
                await pubsub.aclose()

    # -- giving slots back -------------------------------------------------------------------------
    def _release(self, request: Request) -> None:
        token = request.meta.pop(META, None)
        host = self._held.pop(token, None) if token else None
        if host is None:
            return
        st = self._state(host)
        st.held -= 1
        st.pending.append(token)
        st.released.set()
        if self._flush is None:
            # Usually the next acquire for the host carries the release; this catches the rest.
            self._flush = asyncio.get_running_loop().call_later(0.02, self._spawn_flush)

    def _spawn_flush(self) -> None:
        self._flush = None
        self._spawn(self._flush_pending())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("politeness background call failed: %s", task.exception())

    async def _flush_pending(self) -> None:
        batch = {host: st.pending for host, st in self._hosts.items() if st.pending}
        if not batch:
            return
        for st in self._hosts.values():
            st.pending = []
        pipe = self.r.pipeline(transaction=False)
        for host, tokens in batch.items():
            pipe.zrem(self.keys.host_slots(host), *tokens)
        try:
            await pipe.execute()
        except REDIS_DOWN as exc:  # the leases expire on their own
            logger.debug("could not release host slots: %s", exc)

    async def close(self, spider: Any = None) -> None:
        """Give back every slot still held (requests cut off by the shutdown) and stop listening."""
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        for token, host in self._held.items():
            self._state(host).pending.append(token)
        self._held.clear()
        await self._flush_pending()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.r.aclose()
