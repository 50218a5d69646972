"""Pages: the home page (form and crawl list with live progress), creating, re-running, cancelling
and deleting crawls. Every form carries a CSRF token (``CSRFProtect`` checks each POST)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for

from linkpatrol.durations import describe
from linkpatrol.model.options import InvalidOption, Place, form_defaults, form_fields
from linkpatrol.store.crawls import ORIGIN_FILTERS
from web.crawls.starting import RateLimited, create, rerun
from web.params import page_arg
from web.resources import get_crawl_or_404, store
from web.serializers import crawl_json

bp = Blueprint("crawls", __name__, template_folder="templates")
PER_PAGE = 20
SITES = 20  # sites listed on the home page, by their newest crawl
CHECKS = 5  # crawls of linkpatrol check listed apart on the home page (all of them: ?origin=check)
# The form's options, their values before anyone typed, and which are checkboxes and in the "Advanced"
# section (it opens when one of them is set or wrong): all from the option model.
FORM_FIELDS = form_fields(Place.FORM)
FORM_DEFAULTS = {"url": "", **form_defaults()}
CHECKBOXES = tuple(f.name for f in FORM_FIELDS if f.spec.widget == "checkbox")
ADVANCED = tuple(f.name for f in FORM_FIELDS if f.spec.advanced)


def _page_number() -> int:
    return page_arg("page")


def _origin() -> str:
    """Which crawls the list shows: "other" (the sites' crawls, by default) or "check" (``?origin=check``)."""
    origin = request.args.get("origin") or "other"
    if origin not in ORIGIN_FILTERS:
        abort(400, "origin must be check (the crawls of linkpatrol check) or other (every other crawl)")
    return origin


def _home(form: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200,
          headers_cleared: bool = False) -> Any:
    page_no, origin = _page_number(), _origin()
    s = store()
    # The crawls of linkpatrol check (CI runs, folders on a temporary server) are no site's: listed
    # apart, below the sites' crawls, in full at ?origin=check.
    checks = ORIGIN_FILTERS[origin]
    total = s.count(checks)
    crawls = s.list(offset=(page_no - 1) * PER_PAGE, limit=PER_PAGE, checks=checks)
    front = page_no == 1 and not checks
    sites = s.sites(0, SITES) if front else []
    check_crawls = s.list(0, CHECKS, checks=True) if front else []
    form, errors = {**FORM_DEFAULTS, **(form or {})}, errors or {}
    return render_template(
        "crawls/home.html", crawls=crawls, total=total, sites=sites, site_total=s.site_count() if sites else 0,
        origin=origin, check_crawls=check_crawls, check_total=s.count(True) if check_crawls else 0,
        page=page_no, pages=max(1, -(-total // PER_PAGE)),
        form=form, errors=errors, headers_cleared=headers_cleared,
        option_form_fields=FORM_FIELDS,
        advanced_open=headers_cleared or any(errors.get(k) or form.get(k) != FORM_DEFAULTS[k] for k in ADVANCED),
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
        # The request headers are secrets: never shown back, not even to the person who typed them.
        shown = {**form, **{name: name in form for name in CHECKBOXES}, "headers": ""}
        return _home(shown, {exc.field: exc.message}, 400, headers_cleared=bool(form.get("headers", "").strip()))
    except RateLimited as exc:
        flash(str(exc), "error")
        return redirect(url_for("crawls.home")), 303
    flash(f"Checking {crawl.url}: the report fills in as the crawl runs.", "ok")
    return redirect(url_for("reports.report", crawl_id=crawl.id), 303)


@bp.post("/crawls/<crawl_id>/rerun")
def rerun_crawl(crawl_id: str) -> Any:
    try:
        crawl = rerun(store(), get_crawl_or_404(crawl_id))
    except RateLimited as exc:
        flash(str(exc), "error")
        return redirect(url_for("reports.report", crawl_id=crawl_id), 303)
    except InvalidOption as exc:  # options stored before a rule got stricter (a pattern RE2 refuses)
        flash(f"This crawl cannot be run again as it was: {exc}. Start a new one with changed options.", "error")
        return redirect(url_for("reports.report", crawl_id=crawl_id), 303)
    flash(f"Checking {crawl.url} again.", "ok")
    return redirect(url_for("reports.report", crawl_id=crawl.id), 303)


@bp.post("/crawls/<crawl_id>/cancel")
def cancel(crawl_id: str) -> Any:
    crawl = get_crawl_or_404(crawl_id)
    if store().cancel(crawl.id):
        flash("The crawl was cancelled; what it found so far stays in the report.", "ok")
    else:
        flash(f"The crawl had already {crawl.state}.", "info")
    return redirect(url_for("reports.report", crawl_id=crawl.id), 303)


@bp.post("/crawls/<crawl_id>/delete")
def delete(crawl_id: str) -> Any:
    crawl = get_crawl_or_404(crawl_id)
    store().delete(crawl.id)
    flash(f"The crawl of {crawl.url} and its report were deleted.", "ok")
    return redirect(url_for("crawls.home"), 303)


# The pages' own live progress: the same JSON as the API, behind the pages' login rather than the API
# token, so an install with an API token and an open UI still updates live.
@bp.get("/progress")
def progress() -> Any:
    page_no = _page_number()
    crawls = store().list(offset=(page_no - 1) * PER_PAGE, limit=PER_PAGE, checks=ORIGIN_FILTERS[_origin()])
    # Each row's elapsed time as the page shows it (durations.describe), so the script formats nothing.
    return jsonify({"crawls": [{**crawl_json(c), "elapsed": describe(c.duration)} for c in crawls]})


@bp.get("/crawls/<crawl_id>/progress")
def crawl_progress(crawl_id: str) -> Any:
    return jsonify(crawl_json(get_crawl_or_404(crawl_id)))
