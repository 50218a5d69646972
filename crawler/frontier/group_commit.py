"""Group commit: the recording calls of pages that finish at about the same moment, sent to Redis
together (a pipeline of their LINKS calls, then one of their COMPLETE calls).

Each checked url costs one COMPLETE call and, for a page, a LINKS call or more. Sent one by one,
redis-py's own work per call (pool checkout, health check, retry wrapper, a round trip) cost three
times what packing and reading the call does: about 45 against 15 microseconds of crawler CPU per call
on the development machine. While one pipeline is on its way, the calls of the pages that finish
meanwhile wait and go together in the next ones: no waiting when the crawler is idle, fewer round
trips when it is busy.

Nothing about the calls changes: every call is bounded on its own (a page's links in batches of
``LINK_BATCH``), a pipeline carries at most ``max_calls`` of them (a page needing more is recorded call
by call), and every call is idempotent. Whatever goes wrong in a pipeline (Redis away or busy, a
script Redis no longer knows, a call that raises) sends the pages it concerns down the usual path,
call by call through ``retrying``: the waiting, the giving up on refused credentials and the
fallback to a result recorded alone stay in one place (``Recorder``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from linkpatrol.frontier import SETTLING, ScriptCall
from linkpatrol.store.connection import retrying

logger = logging.getLogger(__name__)

# Calls a pipeline carries at most: a page is one or two, so about this many pages a round trip.
MAX_CALLS = 32


async def in_turn(calls: list[ScriptCall], what: str = "recording a result") -> Any:
    """The calls one after another, each retried while Redis cannot serve; the last one's reply."""
    result: Any = None
    for call in calls:
        result = await retrying(what, call)
    return result


@dataclass(eq=False)  # one url's calls: told apart by identity
class _Submission:
    calls: list[ScriptCall]
    done: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit:
    def __init__(self, client: Any, max_calls: int = MAX_CALLS) -> None:
        self.client = client
        self.max_calls = max_calls
        self._waiting: deque[_Submission] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._fallen_back: set[asyncio.Task[Any]] = set()  # held until done (the loop keeps weak references)
        self.batches = 0  # sent (two pipelines each), for the tests
        self.fallbacks = 0  # submissions sent call by call after a pipeline could not take them

    async def run(self, calls: list[ScriptCall]) -> Any:
        """Record ``calls`` (one url's, COMPLETE last); the last call's reply, as ``in_turn`` gives it."""
        if len(calls) > self.max_calls:
            return await in_turn(calls)
        submission = _Submission(calls)
        self._waiting.append(submission)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_waiting())
        return await submission.done

    async def _send_waiting(self) -> None:
        await asyncio.sleep(0)  # the pages finishing in this turn of the loop go in the same pipeline
        while self._waiting:
            batch: list[_Submission] = []
            count = 0
            while self._waiting and count + len(self._waiting[0].calls) <= self.max_calls:
                submission = self._waiting.popleft()
                batch.append(submission)
                count += len(submission.calls)
            try:
                await self._send(batch)
            except asyncio.CancelledError:  # the crawler stops: nobody is left to record
                for submission in (*batch, *self._waiting):
                    submission.done.cancel()
                self._waiting.clear()
                raise
            except Exception:  # a bug of ours: the batch's urls go the usual way, call by call
                logger.exception("group commit failed; recording %d urls call by call", len(batch))
                for submission in batch:
                    if not submission.done.done():
                        self._fall_back(submission)

    async def _send(self, batch: list[_Submission]) -> None:
        """Two pipelines: every LINKS call of the batch, then the COMPLETE of each url whose links all
        went in. COMPLETE releases the lease and may end the crawl, so it must never run after a
        LINKS call of its url that failed (NOSCRIPT after a restart, BUSY): that url goes call by
        call instead, from its first call."""
        with_links = [submission for submission in batch if len(submission.calls) > 1]
        replies = await self._pipeline([call for submission in with_links for call in submission.calls[:-1]])
        failed: set[_Submission] = set()
        at = 0
        for submission in with_links:
            mine = None if replies is None else replies[at:at + len(submission.calls) - 1]
            at += len(submission.calls) - 1
            if mine is None or any(isinstance(reply, Exception) for reply in mine):
                failed.add(submission)
        ready = [submission for submission in batch if submission not in failed]
        completes = await self._pipeline([submission.calls[-1] for submission in ready])
        for submission in failed:
            self._fall_back(submission)
        for i, submission in enumerate(ready):
            reply = None if completes is None else completes[i]
            if completes is None or isinstance(reply, Exception):
                self._fall_back(submission)
            elif reply == SETTLING and submission.calls[-1].until_recorded:
                self._settle(submission, in_turn(submission.calls[-1:]))
            elif not submission.done.done():  # its waiter may have given up (cancelled)
                submission.done.set_result(reply)
        self.batches += 1

    async def _pipeline(self, calls: list[ScriptCall]) -> list[Any] | None:
        """The calls' replies (an exception in place of a call that failed), or None when the
        pipeline itself failed (the connection)."""
        if not calls:
            return []
        pipe = self.client.pipeline(transaction=False)
        for call in calls:
            pipe.execute_command("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args)
        try:
            return list(await pipe.execute(raise_on_error=False))
        except (RedisError, OSError):
            return None
        finally:
            await pipe.reset()

    def _fall_back(self, submission: _Submission) -> None:
        """Redis busy or away, NOSCRIPT after a restart, or a call that raised: the usual path waits,
        reloads the script, or raises for the recorder's fallback. Every call is idempotent, so those
        that went through are harmless to send again."""
        self.fallbacks += 1
        self._settle(submission, in_turn(submission.calls))

    def _settle(self, submission: _Submission, work: Any) -> None:
        """Finish ``submission`` with ``work`` in a task of its own: one page waiting for Redis does not
        hold the pipelines of the others."""
        task = asyncio.ensure_future(work)
        self._fallen_back.add(task)
        task.add_done_callback(self._fallen_back.discard)

        def copy(task: asyncio.Task[Any]) -> None:
            exc = None if task.cancelled() else task.exception()  # retrieved even when nobody waits
            if submission.done.done():  # its waiter gave up (cancelled)
                return
            if task.cancelled():
                submission.done.cancel()
            elif exc is not None:
                submission.done.set_exception(exc)
            else:
                submission.done.set_result(task.result())
        task.add_done_callback(copy)
