"""The JSON shape of a crawl that the API, the pages' live progress and ``linkpatrol check --format
json`` all give: one definition, so they cannot drift apart. The web app adds its links."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from linkpatrol.model.records import Crawl


def iso(ts: float | None) -> str | None:
    """Epoch seconds -> ISO 8601 in UTC (``2026-11-28T05:49:46.123Z``)."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def crawl_summary(crawl: Crawl) -> dict[str, Any]:
    """The fields people ask for first, then details. Every count comes from the crawl record, as on
    the report page and in the mail."""
    duration = crawl.duration
    return {
        "id": crawl.id,
        "url": crawl.url,
        "state": crawl.state,
        "origin": crawl.origin or None,  # what made it (ui, api, cli, schedule, start-queue, check); null: older
        "pages_crawled": crawl.pages_crawled,
        "links_checked": crawl.links_checked,
        "dead": crawl.dead,
        "broken": crawl.dead,  # deprecated (one release): "dead", the name this count always meant
        "created_at": iso(crawl.created_at),
        "started_at": iso(crawl.started_at),
        "finished_at": iso(crawl.finished_at),
        "duration_seconds": round(duration, 3) if duration is not None else None,
        "options": crawl.options.to_dict(),  # header names, never their values
        "outcomes": crawl.outcome_counts,
        "status_classes": crawl.status_class_counts,
        "redirected": crawl.redirected,
        "checks": crawl.check_counts,
        "retries": crawl.retries,
        "errors": crawl.error_counts,
        # Why it stopped early or left urls out ("page budget reached (...)", "possible crawl trap
        # under /day/ ..."); [] when nothing was held back.
        "stop_reasons": crawl.stop_reasons,
        # The same as numbers: links past the per-page cap (counted, not followed) and urls a trap
        # detector held back (checked, not crawled).
        "held_back": {"links_over_cap": crawl.counters.get("links_over_cap", 0),
                      "trap_held": crawl.counters.get("trap_held", 0)},
        "server_time": iso(time.time()),
    }
