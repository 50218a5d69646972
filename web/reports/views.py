"""Pages: a crawl's report (summary, dead links with their referrers, other problems, redirects,
all links) with filters, sorting and pagination, and the page of one link with all its referrers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request

from linkpatrol.diff import BROKEN, diff
from linkpatrol.records import Crawl
from linkpatrol.report_index import OUTCOME
from linkpatrol.verdicts import OTHER_LABEL, STATUS_CLASSES, ErrorKind, Outcome
from web.reports import groups
from web.reports.query import CACHE, VIEW_OUTCOMES, VIEWS, BadQuery, Query, Row, run
from web.resources import get_crawl_or_404, store

bp = Blueprint("reports", __name__, template_folder="templates")


def view_counts(crawl: Crawl) -> dict[str, int]:
    """The count on each view's tab, from the crawl record (as in the API and the mail)."""
    return {
        "dead": crawl.outcome_count(Outcome.DEAD),
        "anchors": crawl.outcome_count(Outcome.MISSING_ANCHOR),
        "other": crawl.other_count,
        "redirects": crawl.redirected,
        # The orphans list is the tab's own records: read once, from the same per-process cache.
        "orphans": len(CACHE.records(store(), crawl, "orphans")) if crawl.options.sitemaps else 0,
        "all": crawl.links_checked,
    }


@bp.get("/crawls/<crawl_id>")
def report(crawl_id: str) -> Any:
    crawl = get_crawl_or_404(crawl_id)
    try:
        q = Query.from_args(request.args, current_app.config["PER_PAGE"])
    except BadQuery as exc:
        abort(400, str(exc))
    page = run(store(), crawl, q)
    # The groups count the problems of the view shown (dead links unless it is a problem view).
    wanted = VIEW_OUTCOMES[q.view] if q.view in ("dead", "anchors", "other") else (Outcome.DEAD,)
    problems = [rec for rec in CACHE.records(store(), crawl, "problems") if wanted and rec[OUTCOME] in wanted]
    return render_template("reports/report.html", crawl=crawl, page=page, q=q, views=VIEWS,
                           changes=None if crawl.is_active else diff(store(), crawl), broken=BROKEN,
                           by_host=groups.by_host(problems), by_kind=groups.by_kind(problems),
                           classes=STATUS_CLASSES, counts=view_counts(crawl),
                           outcomes=[o for o in Outcome if o is not Outcome.MISSING_ANCHOR],  # the bar: checked links
                           other_label=OTHER_LABEL, error_messages={str(k): k.message for k in ErrorKind})


@bp.get("/crawls/<crawl_id>/link")
def link(crawl_id: str) -> Any:
    crawl = get_crawl_or_404(crawl_id)
    url = request.args.get("url", "")
    result = store().result(crawl.id, url)
    row = Row.from_result(result) if result else None
    return render_template("reports/link.html", crawl=crawl, url=url, row=row), 200 if row else 404
