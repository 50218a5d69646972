"""The one place that builds Redis clients.

Every client linkpatrol uses decodes replies to ``str``, except RQ's (it stores pickles): ask for it
with ``decode=False``. The crawler gets its clients through scrapy-redis's ``connection`` module,
which calls ``AsyncClient.from_url`` here (``REDIS_PARAMS["redis_cls"]`` in ``crawler/settings.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
from redis.connection import HiredisRespSerializer
from redis.exceptions import AuthenticationError, AuthorizationError, NoPermissionError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.utils import HIREDIS_AVAILABLE

logger = logging.getLogger(__name__)
T = TypeVar("T")
# What "Redis is not reachable" looks like, for code that waits or answers 503.
REDIS_DOWN: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
RedisError = redis.RedisError
# Error replies that mean "not now" rather than "wrong": the command was not run, so it is safe to
# run again. BUSY (another client's script is past lua-time-limit) has no class of its own in
# redis-py; LOADING is a ConnectionError subclass already, listed for the reader.
TRANSIENT_REPLIES = ("BUSY", "LOADING", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS")
# Error replies that mean "you may not": no or wrong credentials, or a user without the right to a
# command or key. No wait fixes them; a person must (REDIS_URL's user and password, Redis's ACL).
REFUSED_REPLIES = ("NOAUTH", "WRONGPASS", "NOPERM")
REFUSED_ERRORS = (AuthenticationError, AuthorizationError, NoPermissionError)
# How long a process waits on refused credentials before it gives up (exit code EXIT_REFUSED): room
# for an ACL or password change rolled out at the same moment, no more.
REFUSED_WAIT = 10.0
EXIT_REFUSED = 3  # the command line's "Redis" exit code


def _reply_codes(exc: BaseException) -> set[str]:
    """What the error reply's code may be: redis-py strips the code of the replies it has a class
    for (READONLY, MASTERDOWN, NOPERM...) into ``status_code``; others (BUSY) stay the message's
    first word; a pipeline prefixes the message with "Command # n (...) of pipeline caused error: "."""
    text = str(exc)
    if "of pipeline caused error: " in text:
        text = text.split("of pipeline caused error: ", 1)[1].lstrip("('\"")
    return {str(getattr(exc, "status_code", None) or "").upper(), text.split(" ", 1)[0].upper()}


def refused(exc: BaseException) -> bool:
    """True when Redis refused us (NOAUTH, WRONGPASS, NOPERM): a login without (the right)
    password, or a user without the rights linkpatrol needs. redis-py makes a failed login a
    ``ConnectionError``, so ``unavailable`` counts it too (the web app answers 503); whoever waits
    on ``unavailable`` must give up on this one after ``REFUSED_WAIT``."""
    if isinstance(exc, REFUSED_ERRORS):
        return True
    return isinstance(exc, redis.ResponseError) and not _reply_codes(exc).isdisjoint(REFUSED_REPLIES)


def refused_message(exc: BaseException, where: str = "") -> str:
    """One line saying what Redis refused and what to check."""
    at = f" at {where}" if where else ""
    if isinstance(exc, NoPermissionError) or "NOPERM" in _reply_codes(exc):
        return f"Redis{at} refused a command: the user lacks a permission linkpatrol needs ({exc}); check its ACL"
    return f"Redis{at} refused our credentials ({exc}); check the user and password in REDIS_URL"


def unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says Redis cannot serve us right now (down, unreachable, busy running a
    script, loading its data set, failing over, a read-only replica, and a login it refused: see
    ``refused``): wait and retry, or answer 503. Any other Redis error is a bug or bad data and must
    not be retried forever."""
    if isinstance(exc, REDIS_DOWN):
        return True
    if not isinstance(exc, redis.ResponseError):
        return False
    return not _reply_codes(exc).isdisjoint(TRANSIENT_REPLIES)
Client = redis.Redis  # the type of what ``client()`` returns, for annotations outside this module


def client(url: str, *, decode: bool = True, timeout: float | None = 5.0, **params: Any) -> redis.Redis:
    """A synchronous client (web app, mail worker, command line)."""
    params.setdefault("socket_connect_timeout", timeout)
    params.setdefault("socket_timeout", timeout)
    params.setdefault("health_check_interval", 30)
    return redis.Redis.from_url(url, decode_responses=decode, **params)


def _crawler_params(params: dict[str, Any]) -> dict[str, Any]:
    params.pop("encoding", None)  # scrapy-redis's default; utf-8 anyway
    params["decode_responses"] = True
    params.setdefault("socket_connect_timeout", 5)
    params.setdefault("socket_timeout", 30)
    params.setdefault("health_check_interval", 15)
    return params


class _HiredisPacking:
    """Commands packed by hiredis, in C. redis-py's asyncio connection packs every argument in Python
    (about 0.9 µs each), and a crawler sends six arguments per link: packing was 4% of its CPU on the
    benchmark site (0.12 s a crawl), against a sixth of that here. redis-py's synchronous connection
    packs with hiredis itself whenever it is installed; its asyncio connection has no such switch, so
    this one uses the synchronous one's serializer (``HiredisRespSerializer``: the same bytes, a value of
    a type Redis cannot take is a ``DataError``)."""

    _serializer = HiredisRespSerializer()

    def pack_command(self, *args: Any) -> list[bytes]:
        return self._serializer.pack(*args)

    def pack_commands(self, commands: Any) -> list[bytes]:
        # One buffer: a crawler's pipelines are bounded (group commit, leasing), never a page's size.
        return [b"".join(chunk for command in commands for chunk in self._serializer.pack(*command))]


_PACKING: dict[type, type] = {}


def _packing_with_hiredis(pool: aioredis.ConnectionPool) -> None:
    """The pool's connections, TCP, TLS or Unix socket as the URL says, pack with hiredis (pinned in
    requirements.txt; without it, redis-py's own packing stays)."""
    if not HIREDIS_AVAILABLE:
        return
    base = pool.connection_class
    if base not in _PACKING:
        _PACKING[base] = type(f"Hiredis{base.__name__}", (_HiredisPacking, base), {})
    pool.connection_class = _PACKING[base]


class AsyncClient(aioredis.Redis):
    """The crawler's asyncio client, built by scrapy-redis from the Scrapy settings REDIS_URL and
    REDIS_PARAMS (``scrapy_redis.connection.get_redis_from_settings``)."""

    @classmethod
    def from_url(cls, url: str, **params: Any) -> AsyncClient:  # type: ignore[override]
        made = super().from_url(url, **_crawler_params(params))
        _packing_with_hiredis(made.connection_pool)
        return made  # type: ignore[return-value]


class SyncClient(redis.Redis):
    """The same for the crawler's one synchronous need: the store's retention, run in a thread."""

    @classmethod
    def from_url(cls, url: str, **params: Any) -> SyncClient:  # type: ignore[override]
        return super().from_url(url, **_crawler_params(params))  # type: ignore[return-value]


def async_client(url: str, **params: Any) -> AsyncClient:
    return AsyncClient.from_url(url, **params)


def _exit_refused() -> None:
    raise SystemExit(EXIT_REFUSED)


async def retrying(what: str, call: Callable[[], Awaitable[T]], stop: Callable[[], bool] = lambda: False) -> T:
    """Run an asyncio Redis call until it succeeds: while Redis is away a crawler waits, it never
    drops work. Refused credentials or rights (``refused``) are waited on for ``REFUSED_WAIT`` only:
    then one line says so and the process exits with ``EXIT_REFUSED`` (a crawler that may not use
    Redis can do nothing; waiting in silence would hide it)."""
    delay = 0.2
    warned = False
    refused_since: float | None = None
    while True:
        try:
            result = await call()
        except (RedisError, OSError) as exc:
            if refused(exc) and not stop():
                now = time.monotonic()
                refused_since = refused_since or now
                if now - refused_since >= REFUSED_WAIT:
                    logger.critical("giving up on %s after %g s: %s", what, REFUSED_WAIT, refused_message(exc))
                    # Raised from a loop callback, SystemExit ends the event loop and the process
                    # (no task or Deferred on the way to swallow it); this call never returns.
                    asyncio.get_running_loop().call_soon(_exit_refused)
                    await asyncio.Event().wait()
                await asyncio.sleep(min(delay, REFUSED_WAIT))
                delay = min(delay * 2, 5.0)
                continue
            if not unavailable(exc) or stop():
                raise
            if not warned:
                logger.warning("Redis unreachable or busy during %s (%s); waiting for it to come back", what, exc)
                warned = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        if warned:
            logger.warning("Redis is back; %s done", what)
        return result
