"""The JSON API (see docs/API.md and /api/openapi.json).

No CSRF tokens here: every state-changing call needs a JSON body or the DELETE method, which a page on
another site cannot send with the user's cookies without a CORS preflight, and this app allows none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from crawler.storage import Crawl, InvalidOption
from web import error_response, store
from web.exports import broken_csv, broken_json, parse_outcomes, problems
from web.service import FIELDS, RateLimited, create
from web.views import crawl_json

bp = Blueprint("api", __name__, url_prefix="/api")
OPENAPI = Path(__file__).parent / "static" / "openapi.json"


def _crawl_or_404(crawl_id: str) -> Crawl | Response:
    crawl = store().get(crawl_id) if len(crawl_id) <= 64 else None
    if crawl is None:
        return error_response(404, f"no crawl {crawl_id[:64]!r}")
    return crawl


@bp.post("/crawls")
def create_crawl() -> Any:
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        return error_response(400, "send a JSON object with Content-Type: application/json", field="body")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        return error_response(400, f"unknown field {unknown[0]!r}", field=unknown[0])
    try:
        crawl = create(store(), data)
    except InvalidOption as exc:
        return error_response(400, f"{exc.field}: {exc.message}", field=exc.field)
    except RateLimited as exc:
        resp = error_response(429, f"too many crawls created; try again in {exc.retry_after} seconds")
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    resp = jsonify(crawl_json(crawl))
    resp.status_code = 201
    resp.headers["Location"] = url_for("api.get_crawl", crawl_id=crawl.id)
    return resp


@bp.get("/crawls")
def list_crawls() -> Any:
    page = request.args.get("page", "1")
    per_page = request.args.get("per_page", "20")
    if not page.isdigit() or int(page) < 1:
        return error_response(400, "page must be a whole number, 1 or more", field="page")
    if not per_page.isdigit() or not 1 <= int(per_page) <= 100:
        return error_response(400, "per_page must be between 1 and 100", field="per_page")
    p, n = int(page), int(per_page)
    s = store()
    total = s.count()
    crawls = s.list(offset=(p - 1) * n, limit=n)
    return jsonify({"crawls": [crawl_json(c) for c in crawls], "page": p, "per_page": n, "total": total,
                    "pages": max(1, -(-total // n))})


@bp.get("/crawls/<crawl_id>")
def get_crawl(crawl_id: str) -> Any:
    crawl = _crawl_or_404(crawl_id)
    return crawl if isinstance(crawl, Response) else jsonify(crawl_json(crawl))


@bp.get("/crawls/<crawl_id>/broken")
def broken(crawl_id: str) -> Any:
    crawl = _crawl_or_404(crawl_id)
    if isinstance(crawl, Response):
        return crawl
    try:
        outcomes = parse_outcomes(request.args.get("outcome"))
    except ValueError as exc:
        return error_response(400, str(exc), field="outcome")
    results = problems(store(), crawl.id, outcomes)
    fmt = request.args.get("format", "json")
    if fmt == "csv":
        resp = Response(broken_csv(results), mimetype="text/csv")
        resp.headers["Content-Disposition"] = f'attachment; filename="linkpatrol-{crawl.id}-broken.csv"'
        return resp
    if fmt != "json":
        return error_response(400, "format must be json or csv", field="format")
    resp = jsonify(broken_json(results))
    if request.args.get("download"):
        resp.headers["Content-Disposition"] = f'attachment; filename="linkpatrol-{crawl.id}-broken.json"'
    return resp


@bp.delete("/crawls/<crawl_id>")
def delete_crawl(crawl_id: str) -> Any:
    crawl = _crawl_or_404(crawl_id)
    if isinstance(crawl, Response):
        return crawl
    s = store()
    if crawl.state in ("queued", "running") and s.cancel(crawl.id):
        return jsonify(crawl_json(s.require(crawl.id)))
    s.delete(crawl.id)
    return Response(status=204)


@bp.get("/openapi.json")
def openapi() -> Any:
    return Response(OPENAPI.read_bytes(), mimetype="application/json")
