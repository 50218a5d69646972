"""Synchronous clients that wait while Redis cannot serve them: ``PatientRetry``, a redis-py retry
policy (``connection.client(url, retry=PatientRetry(60, "what"))``).

redis-py retries a dropped connection a few times and raises everything else at once; a ``BUSY``
reply (another client's script past ``busy-reply-threshold``) is a ``ResponseError``. Libraries built
on a client (RQ's worker, its scheduler, its job bookkeeping) talk to Redis in many places we cannot
wrap, and quit on the first such error. The retry policy of the client sits under all of them: set
it once and every command, pipeline and transaction the client sends waits and runs again while
``connection.unavailable()`` says Redis cannot serve now, for up to ``patience`` seconds.

Safe to run again: an error reply means the command did not run (a transaction whose MULTI or EXEC
met BUSY ran nothing), and redis-py drops the connection before each retry, so no half-open MULTI
stays on the server. A pipeline that WATCHes keys gets redis-py's ``WatchError`` instead, and its
caller's optimistic loop starts again. A connection lost after a command was sent may have run it:
redis-py retries those already; this policy only waits longer.

The asyncio counterpart, for the crawler, is ``connection.retrying``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from linkpatrol.store.connection import RedisError, refused, unavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")
# redis-py nests retried calls (a command connects, then checks the connection's health, each with
# the connection's policy): only the outermost call of a thread waits, so patience is not multiplied.
_waiting = threading.local()


class PatientRetry(Retry):
    """Retry every call that fails with "Redis cannot serve now" until ``patience`` seconds after its
    first failure (backoff 0.1 s doubling to 1 s); then, or on any other error, raise. ``what`` names
    the client in the two log lines (waiting, back)."""

    def __init__(self, patience: float, what: str = "Redis") -> None:
        super().__init__(ExponentialBackoff(cap=1.0, base=0.05), retries=-1, supported_errors=(RedisError, OSError))
        self.patience = patience
        self.what = what

    def call_with_retry(self, do: Callable[[], T], fail: Callable[..., Any],
                        is_retryable: Callable[[Exception], bool] | None = None,
                        with_failure_count: bool = False) -> T:
        nested = getattr(_waiting, "active", False)
        _waiting.active = True
        failures, since = 0, 0.0
        try:
            while True:
                try:
                    result = do()
                except (RedisError, OSError) as error:
                    if refused(error):  # a wrong password or ACL does not heal by waiting: say so now
                        raise
                    if not unavailable(error) or (is_retryable is not None and not is_retryable(error)):
                        raise
                    failures += 1
                    if with_failure_count:
                        fail(error, failures)
                    else:
                        fail(error)
                    if nested:
                        raise  # the outer call waits
                    now = time.monotonic()
                    if failures == 1:
                        since = now
                        logger.warning("Redis cannot serve %s now (%s); waiting up to %g s", self.what, error,
                                       self.patience)
                    elif now - since >= self.patience:
                        logger.error("Redis could not serve %s for %.1f s (%s); giving up", self.what, now - since,
                                     error)
                        raise
                    time.sleep(self._backoff.compute(failures))
                    continue
                if failures and not nested:
                    logger.warning("Redis is back for %s after %.1f s", self.what, time.monotonic() - since)
                return result
        finally:
            if not nested:
                _waiting.active = False
