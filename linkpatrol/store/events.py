"""Ended-crawl events: the frontier's scripts push the id of a crawl that ended and asked for mail or
webhooks (exactly once per crawl, however many crawlers race to see it end); the mail worker turns each
into one notification job and one job per webhook (whether one is due at all:
``linkpatrol.watch.notify_when``).

Taking an event moves it into a processing list (BLMOVE, atomic) and ``done`` removes it from there,
so an event taken by a worker that died before enqueueing its job is found again by ``leftovers``.
"""

from __future__ import annotations

from typing import Any

from linkpatrol.store.keys import Keys


class EndedCrawlEvents:
    def __init__(self, client: Any, keys: Keys) -> None:
        self.r = client  # a decoding client (linkpatrol.store.connection.client)
        self.keys = keys

    def take(self, timeout: float = 1) -> str | None:
        """The next ended crawl's id, moved to the processing list; None after ``timeout`` seconds."""
        raw = self.r.blmove(self.keys.ended_events, self.keys.ended_events_processing, timeout,
                            "LEFT", "RIGHT")
        return str(raw) if raw else None

    def done(self, crawl_id: str) -> None:
        """The event's job is enqueued: forget the event."""
        self.r.lrem(self.keys.ended_events_processing, 1, crawl_id)

    def leftovers(self) -> list[str]:
        """Events taken and never done (a worker died, or Redis went away in between)."""
        return [str(raw) for raw in self.r.lrange(self.keys.ended_events_processing, 0, -1)]
