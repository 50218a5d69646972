"""The JSON shape of a crawl, shared by the API and the pages' live progress."""

from __future__ import annotations

import time
from typing import Any

from flask import url_for

from linkpatrol.records import Crawl
from web.formatting import iso


def crawl_json(crawl: Crawl) -> dict[str, Any]:
    """The API's view of a crawl: the fields the issue names first, then details. Every count comes
    from the crawl record, as on the report page and in the mail."""
    duration = crawl.duration
    return {
        "id": crawl.id,
        "url": crawl.url,
        "state": crawl.state,
        "pages_crawled": crawl.pages_crawled,
        "links_checked": crawl.links_checked,
        "broken": crawl.broken,
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
        "links": {
            "self": url_for("api.get_crawl", crawl_id=crawl.id),
            "broken": url_for("api.broken", crawl_id=crawl.id),
            "report": url_for("reports.report", crawl_id=crawl.id),
        },
        "server_time": iso(time.time()),
    }
