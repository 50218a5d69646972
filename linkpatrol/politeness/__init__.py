"""Politeness shared by every crawler process: per-host concurrency, request rate and "not before".

The protocol, without Scrapy (``crawler/downloadermiddlewares/politeness.py`` is its thin wrapper).
Before a request goes out, a host with limits needs a slot from Redis: one Lua
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkpatrol.store.connection import RedisError, unavailable
from linkpatrol.store.keys import Keys

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent


def script(name: str) -> str:
    """The source of one of the politeness Lua scripts (``acquire``, ``penalize``)."""
    return (HERE / f"{name}.lua").read_text()


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

    @classmethod
    def strictest(cls, limits: Iterable[Limits]) -> Limits:
        """What keeps within every one of ``limits`` (0, no limit, is looser than any other)."""
        every = tuple(limits)
        return cls(min((x.concurrency for x in every if x.concurrency > 0), default=0),
                   min((x.rate for x in every if x.rate > 0), default=0.0))


@dataclass
class HostState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    held: int = 0  # slots this process holds
    pending: list[str] = field(default_factory=list)  # released tokens not yet removed in Redis
    not_before: float = 0.0  # time.monotonic() before which nobody may send to the host
    checked: float = -1e9  # when the shared not-before was last read (hosts without limits)
    strikes: bool = False  # this process saw a 429 from the host: clear the run on the next success


class HostGate:
    """One crawler process's side of the shared politeness. ``count(name)`` counts what happens
    (the middleware passes Scrapy's stats)."""

    def __init__(self, client: Any, keys: Keys, *, max_wait: float = 60.0, backoff: float = 2.0,
                 strikes_at: int = 3, refresh: float = 5.0, lease: float = 195.0,
                 count: Callable[[str], None] = lambda name: None) -> None:
        self.r = client
        self.keys = keys
        self.max_wait_ms = int(max_wait * 1000)
        self.backoff_ms = int(backoff * 1000)
        self.strikes_at = strikes_at
        self.refresh = refresh
        self.lease_ms = int(lease * 1000)
        self.count = count
        self._acquire = client.register_script(script("acquire"))
        self._penalize = client.register_script(script("penalize"))
        self._worker = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._seq = itertools.count()
        self._hosts: dict[str, HostState] = {}
        self._held: dict[str, str] = {}  # token -> host
        self._listener: asyncio.Task[None] | None = None
        self._flush: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def enter(self, host: str, limits: Limits) -> str | None:
        """Wait until a request to ``host`` may go out. Returns the slot token to give back with
        ``leave`` (None for a host without limits)."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
        st = self._state(host)
        if limits.unlimited:
            await self._not_before(host, st)
            return None
        return await self._take_slot(host, st, limits)

    async def answered(self, host: str, status: int, retry_after: float | None) -> None:
        """What the host answered: a 429 (or a 503 with Retry-After) slows every crawler down; a
        success ends a run of 429s."""
        if status == 429 or (status == 503 and retry_after is not None):
            await self.slow_down(host, retry_after)
        elif host in self._hosts and self._hosts[host].strikes:
            self._hosts[host].strikes = False
            self._spawn(self.r.delete(self.keys.host_strikes(host)))

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
            except (RedisError, OSError) as exc:
                if not unavailable(exc):
                    raise
                logger.debug("not-before of %s unknown: %s", host, exc)
                ms = -2
            if ms > 0:
                st.not_before = max(st.not_before, now + ms / 1000)
        await self._sleep_until(st.not_before)

    async def _sleep_until(self, deadline: float) -> None:
        delay = deadline - time.monotonic()
        if delay > 0:
            self.count("politeness/delayed")
            await asyncio.sleep(delay)

    async def _take_slot(self, host: str, st: HostState, limits: Limits) -> str:
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
                except (RedisError, OSError) as exc:
                    if not unavailable(exc):
                        raise
                    st.pending = releases + st.pending
                    logger.debug("politeness slot for %s: Redis unreachable (%s)", host, exc)
                    await asyncio.sleep(1.0)
                    continue
                if granted:
                    break
                self.count("politeness/delayed")
                if wait_ms > 0:
                    await asyncio.sleep(wait_ms / 1000)
                else:
                    await asyncio.sleep(backoff * (1 + random.random()))
                    backoff = min(backoff * 2, 0.25)
            st.held += 1
        self._held[token] = host
        return token

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
        except (RedisError, OSError) as exc:
            if not unavailable(exc):
                raise
            logger.debug("could not share the back-off of %s: %s", host, exc)
            applied = max(0, min(wait_ms, self.max_wait_ms))
        if applied:
            st.not_before = max(st.not_before, time.monotonic() + applied / 1000)
            self.count("politeness/slowed_down")
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
            except (RedisError, OSError) as exc:
                if not unavailable(exc):
                    raise
                logger.debug("host events: Redis unreachable (%s)", exc)
                await asyncio.sleep(1.0)
            finally:
                await pubsub.aclose()

    # -- giving slots back -------------------------------------------------------------------------
    def leave(self, token: str | None) -> None:
        """The request that held slot ``token`` is done (answered or failed)."""
        if token is None:
            return
        host = self._held.pop(token, None)
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
        except (RedisError, OSError) as exc:  # the leases expire on their own
            if not unavailable(exc):
                raise
            logger.debug("could not release host slots: %s", exc)

    async def close(self) -> None:
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
