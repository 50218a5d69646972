"""Whether an ended crawl's notifications (the mail and the webhooks) are due, by its ``notify_when``
option: one answer for both, read by their jobs (``web.notifications``)."""

from __future__ import annotations

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
