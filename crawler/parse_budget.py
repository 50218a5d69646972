"""The crawler's budget of bytes held for parsing (``LINKPATROL_PARSE_BUDGET_MB``, one per process).

The crawl's size cap bounds each answer, not what a crawler holds at once: 32 pages each decoding to
just under the 32 MB cap (31 kB each on the wire, gzip) took one crawler to 5.7 GB. An answer is
decoded and parsed only once it fits in the budget beside the answers being parsed already; until
then it waits (a future, not a blocked reactor), still compressed. The size counted is the cap
while the answer is decoded (its decoded size is not known before), then its decoded size until its
callback ends. An answer larger than the whole budget goes alone, once nothing else is held. Waiters
are served first come, first served: a big answer is not passed over for ever by small ones.

A hold is given back by the spider's callback when it ends (success, an error, cancellation:
``crawler/settling.py``) and, for an answer that never reaches a callback (dropped, retried, turned
into an error by a later middleware), when the response object is freed (``weakref.finalize``). Giving
back twice is harmless: a lost give-back would stall this crawler for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from typing import Any

HOLD = "lp_hold"  # the request meta key holding the answer's Hold


class ParseBudget:
    """Bytes held for parsing, and the answers waiting for room, first come first served."""

    def __init__(self, limit: int) -> None:
        self.limit = limit  # bytes; 0: no budget
        self.held = 0
        self.peak = 0
        self.waits = 0  # answers that had to wait their turn
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    def _fits(self, size: int) -> bool:
        return self.held == 0 or self.held + size <= self.limit

    def _take(self, size: int) -> None:
        self.held += size
        self.peak = max(self.peak, self.held)

    async def hold(self, size: int) -> Hold:
        """Wait until ``size`` bytes fit in the budget and hold them. Cancelled while waiting, it
        holds nothing."""
        if self.limit <= 0 or size <= 0:
            return Hold(self, 0)
        if not self._waiters and self._fits(size):
            self._take(size)
            return Hold(self, size)
        self.waits += 1
        entry = (size, asyncio.get_running_loop().create_future())
        self._waiters.append(entry)
        try:
            await entry[1]
        except asyncio.CancelledError:
            if entry[1].done() and not entry[1].cancelled():
                self._give(size)  # granted just as it was cancelled
            else:
                with contextlib.suppress(ValueError):  # ``_wake`` dropped it already
                    self._waiters.remove(entry)
                self._wake()  # it may have stood in front of others that fit
            raise
        return Hold(self, size)

    def _give(self, size: int) -> None:
        self.held -= size
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            size, future = self._waiters[0]
            if future.done():  # cancelled
                self._waiters.popleft()
                continue
            if not self._fits(size):
                return
            self._waiters.popleft()
            self._take(size)
            future.set_result(None)


class Hold:
    """Bytes held in a ``ParseBudget`` for one answer."""

    def __init__(self, budget: ParseBudget, size: int) -> None:
        self.budget = budget
        self.size = size

    def resize(self, size: int) -> None:
        """The answer's size is known now (decoded): hold that instead. Never waits (the bytes are
        there already); a smaller size lets waiters in."""
        if self.budget.limit <= 0 or size == self.size:
            return
        if size > self.size:
            self.budget._take(size - self.size)
            self.size = size
            return
        shrink, self.size = self.size - size, size
        self.budget._give(shrink)

    def release(self) -> None:
        size, self.size = self.size, 0
        if size:
            self.budget._give(size)

    def tie_to(self, response: Any) -> None:
        """Give the bytes back when ``response`` is freed, whatever became of it. The garbage collector
        may free it in a parse thread: the give-back runs on the loop."""
        loop = asyncio.get_running_loop()

        def released() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                loop.call_soon_threadsafe(self.release)

        weakref.finalize(response, released)


def release_hold(response: Any) -> None:
    """Give back the bytes ``response`` held for parsing (its callback ended)."""
    hold = response.meta.get(HOLD) if getattr(response, "request", None) is not None else None
    if isinstance(hold, Hold):
        hold.release()
