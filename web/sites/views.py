"""Pages: one site (every crawl of one start URL, newest first) with the trend of its problem counts,
its schedules and the form that adds one (posted to ``web.schedules``), and its accepted links
(``linkpatrol.reports.accepted``) with the forms that accept one (also a report row's button) and undo it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from linkpatrol.model.options import InvalidOption, Place, form_defaults, form_fields
from linkpatrol.reports.accepted import MAX_ACCEPTED, AcceptedLinks, TooManyAccepted, link_url, site_url
from web.auth.views import safe_next
from web.resources import store
from web.schedules.views import schedules
from web.sites.accepted import who
from web.sites.chart import SERIES, trend

bp = Blueprint("sites", __name__, template_folder="templates")
MAX_CRAWLS = 200  # a site keeps LINKPATROL_KEEP_CRAWLS (30) unless told to keep all


@bp.get("/sites")
def site() -> Any:
    url = request.args.get("url", "")
    if not url or len(url) > 2048:
        abort(400, "Say which site: /sites?url=<the start URL of its crawls>.")
    s = store()
    crawls = s.site_crawls(url, 0, MAX_CRAWLS)
    planned = schedules().for_site(url)  # a site scheduled through the API may have no crawl yet
    if not crawls and not planned:
        abort(404, "No crawl of this site is kept: it may never have been checked, or its crawls were deleted.")
    return render_template("sites/site.html", url=url, crawls=crawls, total=s.site_crawl_count(url),
                           chart=trend(crawls), series=SERIES, schedules=planned,
                           accepted=AcceptedLinks(s).list(url), max_accepted=MAX_ACCEPTED,
                           schedule_fields=form_fields(Place.SCHEDULE), schedule_form=form_defaults())


def _back(site: str) -> Any:
    """Where the form came from (a report page), else the site page's accepted links."""
    target = request.form.get("next")
    if target:
        return redirect(safe_next(target), 303)
    return redirect(url_for("sites.site", url=site) + "#accepted", 303)


@bp.post("/sites/accepted")
def accept() -> Any:
    """Accept a link of a site (a report row's button, or the site page's form; again: a new note)."""
    raw_site = request.form.get("site", "")
    try:
        site = site_url(raw_site)
        url = link_url(request.form.get("url"))
        link, created = AcceptedLinks(store()).accept(site, url, who(), request.form.get("note", ""))
    except TooManyAccepted as exc:
        flash(f"Not accepted: {exc.message}.", "error")
        return _back(raw_site)
    except InvalidOption as exc:
        flash(f"Not accepted: {exc.field}: {exc.message}.", "error")
        return _back(raw_site)
    if created:
        flash(f"Accepted {link.url}: it leaves the counts of this site's reports (the Accepted tab lists it).", "ok")
    else:
        flash(f"Accepted already: {link.url}; its note is saved.", "ok")
    return _back(site)


@bp.post("/sites/accepted/remove")
def unaccept() -> Any:
    """Undo: the link counts as broken again."""
    raw_site = request.form.get("site", "")
    try:
        site = site_url(raw_site)
        url = link_url(request.form.get("url"))
    except InvalidOption as exc:
        flash(f"Nothing undone: {exc.field}: {exc.message}.", "error")
        return _back(raw_site)
    if AcceptedLinks(store()).remove(site, url):
        flash(f"No longer accepted: {url} counts as broken again.", "ok")
    else:
        flash(f"{url} was not accepted.", "error")
    return _back(site)
