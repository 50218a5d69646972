"""The one place that builds Redis clients.

Every client linkpatrol uses decodes replies to ``str``, except RQ's (it stores pickles): ask for it
with ``decode=False``. The crawler gets its clients through scrapy-redis's ``connection`` module,
which calls ``AsyncClient.from_url`` here (``REDIS_PARAMS["redis_cls"]`` in ``crawler/settings.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
T = TypeVar("T")
# What "Redis is not reachable" looks like, for code that waits or answers 503.
REDIS_DOWN: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
RedisError = redis.RedisError
# Error replies that mean "not now" rather than "wrong": the command was not run, so it is safe to
# run again. BUSY (another client's script is past lua-time-limit) has no class of its own in
# redis-py; LOADING is a ConnectionError subclass already, listed for the reader.
TRANSIENT_REPLIES = ("BUSY", "LOADING", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS")


def unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says Redis cannot serve us right now (down, unreachable, busy running a
    script, loading its data set, failing over, a read-only replica): wait and retry, or answer 503.
    Any other Redis error is a bug or bad data and must not be retried forever."""
    if isinstance(exc, REDIS_DOWN):
        return True
    if not isinstance(exc, redis.ResponseError):
        return False
    # redis-py strips the code of the replies it has a class for (READONLY, MASTERDOWN, TRYAGAIN...)
    # into ``status_code``; BUSY stays the message's first word; a pipeline prefixes the message with
    # "Command # n (...) of pipeline caused error: ".
    code = getattr(exc, "status_code", None)
    if code and str(code).upper() in TRANSIENT_REPLIES:
        return True
    text = str(exc)
    if "of pipeline caused error: " in text:
        text = text.split("of pipeline caused error: ", 1)[1].lstrip("('\"")
    return text.split(" ", 1)[0].upper() in TRANSIENT_REPLIES
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


class AsyncClient(aioredis.Redis):
    """The crawler's asyncio client, built by scrapy-redis from the Scrapy settings REDIS_URL and
    REDIS_PARAMS (``scrapy_redis.connection.get_redis_from_settings``)."""

    @classmethod
    def from_url(cls, url: str, **params: Any) -> AsyncClient:  # type: ignore[override]
        return super().from_url(url, **_crawler_params(params))  # type: ignore[return-value]


class SyncClient(redis.Redis):
    """The same for the crawler's one synchronous need: the store's retention, run in a thread."""

    @classmethod
    def from_url(cls, url: str, **params: Any) -> SyncClient:  # type: ignore[override]
        return super().from_url(url, **_crawler_params(params))  # type: ignore[return-value]


def async_client(url: str, **params: Any) -> AsyncClient:
    return AsyncClient.from_url(url, **params)


async def retrying(what: str, call: Callable[[], Awaitable[T]], stop: Callable[[], bool] = lambda: False) -> T:
    """Run an asyncio Redis call until it succeeds: while Redis is away a crawler waits, it never
    drops work."""
    delay = 0.2
    warned = False
    while True:
        try:
            result = await call()
        except (RedisError, OSError) as exc:
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
