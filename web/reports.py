"""Pages: a crawl's report (summary, dead links with their referrers, other problems, redirects,
all links) with filters, sorting and pagination, and the page of one link with all its referrers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from crawler.storage import OUTCOMES
from web import store
from web.crawls import _crawl
from web.query import CLASSES, VIEWS, Query, Row, attach_referrers, run
from web.query import _row as decode_row

bp = Blueprint("reports", __name__)


@bp.get("/crawls/<crawl_id>")
def report(crawl_id: str) -> Any:
    crawl = _crawl(crawl_id)
    q = Query.from_args(request.args, current_app.config["PER_PAGE"])
    page = run(store(), crawl, q)
    c = crawl.counters
    counts = {
        "views": {
            "dead": c.get("outcome_dead", 0),
            "other": sum(c.get(f"outcome_{o}", 0) for o in ("blocked", "rate_limited", "excluded", "unsupported")),
            "redirects": c.get("redirected", 0),
            "all": crawl.links_checked,
        },
        "outcomes": {o: c.get(f"outcome_{o}", 0) for o in OUTCOMES},
        "classes": {k: c.get(f"status_{k}", 0) for k in CLASSES},
    }
    return render_template("report.html", crawl=crawl, page=page, q=q, views=VIEWS, classes=CLASSES,
                           counts=counts)


@bp.get("/crawls/<crawl_id>/link")
def link(crawl_id: str) -> Any:
    crawl = _crawl(crawl_id)
    url = request.args.get("url", "")
    s = store()
    raw = s.r.hget(s.keys.urls(crawl.id), url) if url and len(url) < 10_000 else None
    row: Row | None = decode_row(url, raw) if raw else None
    if row is not None:
        attach_referrers(s, crawl.id, [row], None)
    status = 200 if row else 404
    return render_template("link.html", crawl=crawl, url=url, row=row), status
