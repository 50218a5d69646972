"""Pages: the home page (form and crawl list with live progress), creating, re-running, cancelling
and deleting crawls. Every form carries a CSRF token (``CSRFProtect`` checks each POST)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for

from crawler.storage import Crawl, InvalidOption
from web import store
from web.service import RateLimited, create, rerun
from web.views import crawl_json

bp = Blueprint("crawls", __name__)
PER_PAGE = 20


def _crawl(crawl_id: str) -> Crawl:
    crawl = store().get(crawl_id) if len(crawl_id) <= 64 else None
    if crawl is None:
        abort(404, "There is no such crawl: it may have been deleted.")
    return crawl


def _home(form: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    page = request.args.get("page", "1")
    page_no = int(page) if page.isdigit() and int(page) > 0 else 1
    s = store()
    total = s.count()
    crawls = s.list(offset=(page_no - 1) * PER_PAGE, limit=PER_PAGE)
    defaults = {"url": "", "max_pages": "", "max_depth": "", "respect_robots": True, "check_external": True,
                "notify": "", "site_concurrency": "", "site_rate": ""}
    return render_template(
        "home.html", crawls=crawls, total=total, page=page_no, pages=max(1, -(-total // PER_PAGE)),
        form=form or defaults, errors=errors or {},
        private_allowed=not current_app.config["ADDRESS_POLICY"].enabled,
    ), status


@bp.get("/")
def home() -> Any:
    return _home()


@bp.post("/crawls")
def enqueue() -> Any:
    form = request.form.to_dict()
    try:
        crawl = create(store(), form, form=True)
    except InvalidOption as exc:
        shown = {**form, "respect_robots": "respect_robots" in form, "check_external": "check_external" in form}
        return _home(shown, {exc.field: exc.message}, 400)
    except RateLimited as exc:
        flash(f"You have started many crawls in a short time; try again in {exc.retry_after} seconds.", "error")
        return redirect(url_for("crawls.home")), 303
    flash(f"Checking {crawl.url}: the report fills in as the crawl runs.", "ok")
    return redirect(url_for("reports.report", crawl_id=crawl.id), 303)


@bp.post("/crawls/<crawl_id>/rerun")
def rerun_crawl(crawl_id: str) -> Any:
    try:
        crawl = rerun(store(), _crawl(crawl_id))
    except RateLimited as exc:
        flash(f"You have started many crawls in a short time; try again in {exc.retry_after} seconds.", "error")
        return redirect(url_for("reports.report", crawl_id=crawl_id), 303)
    flash(f"Checking {crawl.url} again.", "ok")
    return redirect(url_for("reports.report", crawl_id=crawl.id), 303)


@bp.post("/crawls/<crawl_id>/cancel")
def cancel(crawl_id: str) -> Any:
    crawl = _crawl(crawl_id)
    if store().cancel(crawl.id):
        flash("The crawl was cancelled; what it found so far stays in the report.", "ok")
    else:
        flash(f"The crawl had already {crawl.state}.", "info")
    return redirect(url_for("reports.report", crawl_id=crawl.id), 303)


@bp.post("/crawls/<crawl_id>/delete")
def delete(crawl_id: str) -> Any:
    crawl = _crawl(crawl_id)
    store().delete(crawl.id)
    flash(f"The crawl of {crawl.url} and its report were deleted.", "ok")
    return redirect(url_for("crawls.home"), 303)


# The pages' own live progress: the same JSON as the API, behind the pages' login rather than the API
# token, so an install with an API token and an open UI still updates live.
@bp.get("/progress")
def progress() -> Any:
    page = request.args.get("page", "1")
    page_no = int(page) if page.isdigit() and int(page) > 0 else 1
    crawls = store().list(offset=(page_no - 1) * PER_PAGE, limit=PER_PAGE)
    return jsonify({"crawls": [crawl_json(c) for c in crawls]})


@bp.get("/crawls/<crawl_id>/progress")
def crawl_progress(crawl_id: str) -> Any:
    return jsonify(crawl_json(_crawl(crawl_id)))
