"""Pages: a crawl's report (summary, dead links with their referrers, other problems, redirects,
all links) with filters, sorting and pagination; its live parts alone (``live``: what the page fetches
every second while the crawl runs, rendered by the same macros); and the page of one link with its
referrers, 100 a page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, make_response, render_template, request

from linkpatrol.model.records import Crawl
from linkpatrol.model.verdicts import FAILING, OTHER_LABEL, STATUS_CLASSES, ErrorKind, Outcome
from linkpatrol.model.wire import ReportRecord
from linkpatrol.reports import results
from linkpatrol.reports.accepted import AcceptedLinks, InCrawl
from linkpatrol.reports.diff import diff
from web.params import page_arg
from web.reports import groups
from web.reports.query import CACHE, PROBLEM_VIEWS, VIEW_OUTCOMES, VIEWS, BadQuery, Query, run
from web.resources import get_crawl_or_404, store

bp = Blueprint("reports", __name__, template_folder="templates")
REFERRERS_PER_PAGE = 100  # on the page of one link


def view_counts(crawl: Crawl, accepted: InCrawl) -> dict[str, int]:
    """The count on each view's tab: the groups of verdicts its list shows (``results.counts``: from the
    crawl record, as in the API, the command line and the mail), the site's accepted links counted on
    their own tab and in no other; "all" counts every row the list holds (missing anchors included)."""
    counts = results.counts(crawl, accepted)
    return {
        "dead": counts["dead"],
        "anchors": counts["anchors"],
        "other": counts["other"],
        "accepted": counts["accepted"],
        "redirects": crawl.redirected,
        # The orphans list is the tab's own records: read once, from the same per-process cache.
        "orphans": len(CACHE.records(store(), crawl, "orphans")) if crawl.options.sitemaps else 0,
        "all": counts["all"],
    }


def _context(crawl: Crawl) -> dict[str, Any]:
    """What the report's live parts (``reports/_live.html``) show, for the page and for its live fetch."""
    try:
        q = Query.from_args(request.args, current_app.config["PER_PAGE"])
    except BadQuery as exc:
        abort(400, str(exc))
    changes = None if crawl.is_active else diff(store(), crawl)
    # One read of the site's accepted links for the tabs, the numbers and the list (the diff's, once ended).
    accepted = changes.accepted if changes is not None else AcceptedLinks(store()).in_crawl(crawl)
    page = run(store(), crawl, q, accepted=accepted.urls)
    # The groups count the problems of the view shown, and only a problem view (by link) shows them.
    wanted = VIEW_OUTCOMES[q.view] if q.view in PROBLEM_VIEWS and not q.by_page else ()
    problems = [rec for rec in CACHE.records(store(), crawl, "problems")
                if rec.outcome in wanted and rec.url not in accepted.urls] if wanted else []
    return dict(crawl=crawl, page=page, q=q, views=VIEWS, changes=changes, failing=FAILING,
                by_host=groups.by_host(problems), by_kind=groups.by_kind(problems),
                classes=STATUS_CLASSES, counts=view_counts(crawl, accepted), accepted=accepted,
                by_outcome=accepted.outcome_counts(crawl), problem_views=PROBLEM_VIEWS,
                outcomes=[o for o in Outcome if o is not Outcome.MISSING_ANCHOR],  # the bar: checked links
                other_label=OTHER_LABEL, error_messages={str(k): k.message for k in ErrorKind})


@bp.get("/crawls/<crawl_id>")
def report(crawl_id: str) -> Any:
    return render_template("reports/report.html", **_context(get_crawl_or_404(crawl_id)))


@bp.get("/crawls/<crawl_id>/live")
def live(crawl_id: str) -> Any:
    """The report's live parts alone (the same query string as the page): what the page swaps in."""
    resp = make_response(render_template("reports/live.html", **_context(get_crawl_or_404(crawl_id))))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/crawls/<crawl_id>/link")
def link(crawl_id: str) -> Any:
    crawl = get_crawl_or_404(crawl_id)
    url = request.args.get("url", "")
    page_no = page_arg("page")
    result = store().result(crawl.id, url)
    row = ReportRecord.of(result) if result else None
    pages = max(1, -(-len(row.referrers) // REFERRERS_PER_PAGE)) if row else 1
    shown = row.referrers[(page_no - 1) * REFERRERS_PER_PAGE:page_no * REFERRERS_PER_PAGE] if row else []
    return render_template("reports/link.html", crawl=crawl, url=url, row=row, referrers=shown, page=page_no,
                           pages=pages, first=(page_no - 1) * REFERRERS_PER_PAGE), 200 if row else 404
