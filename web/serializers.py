"""The JSON shape of a crawl, shared by the API and the pages' live progress: the core's
``crawl_summary`` plus the web app's links."""

from __future__ import annotations

from typing import Any

from flask import url_for

from linkpatrol.model.records import Crawl
from linkpatrol.reports.summary import crawl_summary


def crawl_json(crawl: Crawl) -> dict[str, Any]:
    return {
        **crawl_summary(crawl),
        "links": {
            "self": url_for("api.get_crawl", crawl_id=crawl.id),
            "broken": url_for("api.broken", crawl_id=crawl.id),
            "report": url_for("reports.report", crawl_id=crawl.id),
        },
    }
