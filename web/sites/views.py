"""Pages: one site (every crawl of one start URL, newest first) with the trend of its problem counts,
its schedules and the form that adds one (posted to ``web.schedules``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from web.resources import store
from web.schedules.views import schedules
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
                           chart=trend(crawls), series=SERIES, schedules=planned)
