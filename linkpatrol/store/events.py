"""Ended-crawl events: the frontier's scripts push the id of a crawl that ended and asked for mail or
webhooks (exactly once per crawl, however many crawlers race to see it end); the mail worker turns each
into one notification job and one job per webhook. ``skip_reason`` decides, by the crawl's
``notify_when`` option, whether a notification is due at all.

Taking an event moves it into a processing list (BLMOVE, atomic) and ``done`` removes it from there,
so an event taken by a worker that died before enqueueing its job is found again by ``leftovers``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from linkpatrol.store.keys import Keys

if TYPE_CHECKING:
    from linkpatrol.model.records import Crawl
    from linkpatrol.reports.diff import CrawlDiff


def skip_reason(crawl: Crawl, changes: CrawlDiff, failing: int) -> str:
    """Why no notification (mail or webhook) of this ended crawl is due, or "" when one is.

    ``notify_when``: "always"; "problems" (``failing``: the links that fail a check found, dead links and
    missing anchors, ``Outcome.fails_check``, above 0);
    "changes" (a dead link or missing anchor new or fixed since the previous finished crawl of the site;
    the first crawl of a site has nothing to compare with: its problems are all new)."""
    when = crawl.options.notify_when
    if when == "problems" and not failing:
        return "notify_when is problems and the crawl found no dead links or missing anchors"
    if when == "changes":
        if changes.previous is None:
            if not failing:
                return "notify_when is changes: the site's first crawl found no dead links or missing anchors"
        elif not changes.new_failing and not changes.fixed_failing:
            return (f"notify_when is changes: no dead link or missing anchor is new or fixed since crawl "
                    f"{changes.previous.id}")
    return ""


class EndedCrawlEvents:
    def __init__(self, client: Any, keys: Keys) -> None:
        self.r = client  # a decoding client (linkpatrol.store.connection.client)
        self.keys = keys

    def take(self, timeout: float = 1) -> str | None:
        """The next ended crawl's id, moved to the processing list; None after ``timeout`` seconds."""
        raw = self.r.blmove(self.keys.finished_events, self.keys.finished_events_processing, timeout,
                            "LEFT", "RIGHT")
        return str(raw) if raw else None

    def done(self, crawl_id: str) -> None:
        """The event's job is enqueued: forget the event."""
        self.r.lrem(self.keys.finished_events_processing, 1, crawl_id)

    def leftovers(self) -> list[str]:
        """Events taken and never done (a worker died, or Redis went away in between)."""
        return [str(raw) for raw in self.r.lrange(self.keys.finished_events_processing, 0, -1)]
