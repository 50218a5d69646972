"""Small helpers shared by the blueprints: time formatting, the crawl's JSON shape, Jinja filters."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict
from typing import Any

from flask import Flask, url_for

from crawler.storage import OUTCOMES, Crawl


def iso(ts: float | None) -> str | None:
    """Epoch seconds -> ISO 8601 in UTC (``2026-11-28T05:49:46.123Z``)."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def human_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {s:02d}s"
    hours, m = divmod(minutes, 60)
    return f"{hours}h {m:02d}m"


def crawl_json(crawl: Crawl) -> dict[str, Any]:
    """The API's view of a crawl: the fields the issue names first, then details."""
    c = crawl.counters
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
        "options": asdict(crawl.options),
        "outcomes": {o: c.get(f"outcome_{o}", 0) for o in OUTCOMES},
        "status_classes": {k: c.get(f"status_{k}", 0) for k in ("2xx", "3xx", "4xx", "5xx", "error")},
        "redirected": c.get("redirected", 0),
        "links": {
            "self": url_for("api.get_crawl", crawl_id=crawl.id),
            "broken": url_for("api.broken", crawl_id=crawl.id),
            "report": url_for("reports.report", crawl_id=crawl.id),
        },
        "server_time": iso(time.time()),
    }


def register_filters(app: Flask) -> None:
    app.add_template_filter(human_time, "when")
    app.add_template_filter(human_duration, "duration")
    app.add_template_filter(iso, "iso")
    app.add_template_filter(lambda n: f"{int(n or 0):,}", "num")
