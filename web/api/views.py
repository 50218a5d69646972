"""The JSON API (see docs/API.md and /api/openapi.json).

No CSRF tokens here: every state-changing call needs a JSON body or the DELETE method, which a page on
another site cannot send with the user's cookies without a CORS preflight, and this app allows none.
Errors, a 404 for an unknown crawl included, are JSON (``web.errors``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from linkpatrol.model.options import InvalidOption
from linkpatrol.reports.accepted import MAX_ACCEPTED, AcceptedLinks, TooManyAccepted, link_url, site_url
from linkpatrol.reports.diff import diff
from linkpatrol.store.crawls import ORIGIN_FILTERS
from web.crawls.starting import create
from web.errors import error_response
from web.params import whole_number
from web.reports.exports import broken_csv, broken_json, diff_csv, diff_json, parse_outcomes
from web.resources import get_crawl_or_404, store
from web.serializers import crawl_json
from web.sites.accepted import accepted_json, who

bp = Blueprint("api", __name__, url_prefix="/api")
OPENAPI = Path(__file__).resolve().parent.parent / "static" / "openapi.json"


@bp.post("/crawls")
def create_crawl() -> Any:
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        return error_response(400, "send a JSON object with Content-Type: application/json", field="body")
    try:
        crawl = create(store(), data)
    except InvalidOption as exc:
        return error_response(400, f"{exc.field}: {exc.message}", field=exc.field)
    resp = jsonify(crawl_json(crawl))
    resp.status_code = 201
    resp.headers["Location"] = url_for("api.get_crawl", crawl_id=crawl.id)
    return resp


@bp.get("/crawls")
def list_crawls() -> Any:
    p = whole_number(request.args.get("page", "1"))
    if p is None:
        return error_response(400, "page must be a whole number, 1 or more", field="page")
    n = whole_number(request.args.get("per_page", "20"), 1, 100)
    if n is None:
        return error_response(400, "per_page must be between 1 and 100", field="per_page")
    origin = request.args.get("origin") or None
    if origin is not None and origin not in ORIGIN_FILTERS:
        return error_response(400, "origin must be check (the crawls of linkpatrol check) or other (every "
                                   "other crawl); leave it out for every crawl", field="origin")
    checks = ORIGIN_FILTERS[origin] if origin else None
    s = store()
    total = s.count(checks)
    crawls = s.list(offset=(p - 1) * n, limit=n, checks=checks)
    return jsonify({"crawls": [crawl_json(c) for c in crawls], "page": p, "per_page": n, "total": total,
                    "pages": max(1, -(-total // n))})


@bp.get("/crawls/<crawl_id>")
def get_crawl(crawl_id: str) -> Any:
    return jsonify(crawl_json(get_crawl_or_404(crawl_id)))


@bp.get("/crawls/<crawl_id>/broken")
def broken(crawl_id: str) -> Any:
    crawl = get_crawl_or_404(crawl_id)
    try:
        outcomes = parse_outcomes(request.args.get("outcome"))
    except ValueError as exc:
        return error_response(400, str(exc), field="outcome")
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        return error_response(400, "format must be json or csv", field="format")
    results = store().problems(crawl.id, outcomes, referrers=None)
    if fmt == "csv":
        resp = Response(broken_csv(results), mimetype="text/csv")
        resp.headers["Content-Disposition"] = f'attachment; filename="linkpatrol-{crawl.id}-broken.csv"'
        return resp
    resp = jsonify(broken_json(results))
    if request.args.get("download"):
        resp.headers["Content-Disposition"] = f'attachment; filename="linkpatrol-{crawl.id}-broken.json"'
    return resp


@bp.get("/crawls/<crawl_id>/diff")
def crawl_diff(crawl_id: str) -> Any:
    """What changed since the previous finished crawl of the same site: new, fixed, still."""
    crawl = get_crawl_or_404(crawl_id)
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        return error_response(400, "format must be json or csv", field="format")
    changes = diff(store(), crawl, referrers=None)
    if fmt == "csv":
        resp = Response(diff_csv(changes), mimetype="text/csv")
        resp.headers["Content-Disposition"] = f'attachment; filename="linkpatrol-{crawl.id}-diff.csv"'
        return resp
    return jsonify(diff_json(changes))


@bp.get("/crawls/<crawl_id>/orphans")
def orphans(crawl_id: str) -> Any:
    """Alive pages a sitemap lists that no crawled page links to."""
    crawl = get_crawl_or_404(crawl_id)
    return jsonify([{"url": r.url, "status": r.status, "final_url": r.final_url}
                    for r in store().orphans(crawl.id)])


@bp.get("/sites/accepted")
def list_accepted() -> Any:
    """The accepted links of the site ``?site=<its start URL>``, newest first."""
    try:
        site = site_url(request.args.get("site", ""))
    except InvalidOption as exc:
        return error_response(400, f"{exc.field}: {exc.message}", field=exc.field)
    links = AcceptedLinks(store()).list(site)
    return jsonify({"site": site, "accepted": [accepted_json(site, link) for link in links], "total": len(links),
                    "limit": MAX_ACCEPTED})


@bp.put("/sites/accepted")
def put_accepted() -> Any:
    """Accept a link of a site (``{"site", "url", "note"}``), or replace the note of an accepted one:
    201 when new, 200 when it was accepted already, 409 when the site has MAX_ACCEPTED."""
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        return error_response(400, "send a JSON object with Content-Type: application/json", field="body")
    try:
        site, url = site_url(data.get("site")), link_url(data.get("url"))
        link, created = AcceptedLinks(store()).accept(site, url, who(), data.get("note"))
    except TooManyAccepted as exc:
        return error_response(409, f"{exc.field}: {exc.message}", field=exc.field)
    except InvalidOption as exc:
        return error_response(400, f"{exc.field}: {exc.message}", field=exc.field)
    resp = jsonify(accepted_json(site, link))
    resp.status_code = 201 if created else 200
    return resp


@bp.delete("/sites/accepted")
def delete_accepted() -> Any:
    """Undo ``?site=...&url=...``: 204, or 404 when the link was not accepted."""
    try:
        site, url = site_url(request.args.get("site", "")), link_url(request.args.get("url"))
    except InvalidOption as exc:
        return error_response(400, f"{exc.field}: {exc.message}", field=exc.field)
    if not AcceptedLinks(store()).remove(site, url):
        return error_response(404, f"{url} is not an accepted link of {site}", field="url")
    return Response(status=204)


@bp.delete("/crawls/<crawl_id>")
def delete_crawl(crawl_id: str) -> Any:
    crawl = get_crawl_or_404(crawl_id)
    s = store()
    if crawl.is_active and s.cancel(crawl.id):
        return jsonify(crawl_json(s.require(crawl.id)))
    s.delete(crawl.id)
    return Response(status=204)


@bp.get("/openapi.json")
def openapi() -> Any:
    return Response(OPENAPI.read_bytes(), mimetype="application/json")
