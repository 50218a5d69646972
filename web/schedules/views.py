"""Schedules over HTTP: the JSON API (``/api/schedules``, see docs/API.md) and the site page's forms.

A schedule request is the crawl request of ``POST /api/crawls`` (validated by the same
``web.crawls.starting.parse_request``: url, seed guard, crawl options) plus ``every`` or ``cron`` and
``paused``. Creating a schedule and "run now" count against the client's crawl rate limit. The API
routes are exempt from CSRF for the reasons in ``web.api``; the form routes are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from linkpatrol import durations
from linkpatrol.config import Config
from linkpatrol.model.options import InvalidOption
from linkpatrol.model.urls import InvalidURL, normalize_url
from linkpatrol.watch.schedules import (
    SCHEDULE_FIELDS,
    PreviousCrawlRunning,
    Schedule,
    ScheduleNotFound,
    ScheduleRequest,
    Schedules,
    parse_when,
)
from web import csrf
from web.crawls.starting import RateLimited, check_rate_limit, parse_request
from web.errors import error_response
from web.formatting import human_time
from web.params import page_arg
from web.resources import store
from web.serializers import crawl_json

bp = Blueprint("schedules", __name__)  # its page is the site page (web/sites)
PATCH_FIELDS = ("paused", "every", "cron")


def min_interval() -> float:
    """The shortest interval a schedule may ask for: the app's MIN_SCHEDULE_INTERVAL, else
    LINKPATROL_MIN_SCHEDULE_INTERVAL (``linkpatrol.config``), read once per app."""
    cfg = current_app.config
    if cfg.get("MIN_SCHEDULE_INTERVAL") is None:
        cfg["MIN_SCHEDULE_INTERVAL"] = (Config() if cfg.get("IGNORE_ENV") else Config.from_env()).min_schedule_interval
    return float(cfg["MIN_SCHEDULE_INTERVAL"])


def schedules() -> Schedules:
    return Schedules(store(), min_interval())


def parse(data: Mapping[str, Any], *, form: bool = False) -> ScheduleRequest:
    """A schedule from a JSON object or the site page's form. Raises InvalidOption naming the field."""
    url, options = parse_request({k: v for k, v in data.items() if k not in SCHEDULE_FIELDS}, form=form)
    every, cron = parse_when(data, min_interval())
    paused = _paused(data.get("paused", False), form)
    return ScheduleRequest(url, options, every, cron, paused)


def _paused(value: Any, form: bool) -> bool:
    if isinstance(value, bool):
        return value
    if form and value in ("", "1", "on"):
        return value != ""
    raise InvalidOption("paused", "must be true or false")


def schedule_json(s: Schedule) -> dict[str, Any]:
    links = {"self": url_for("schedules.api_get", schedule_id=s.id),
             "run": url_for("schedules.api_run", schedule_id=s.id),
             "site": url_for("sites.site", url=s.url)}
    if s.last_crawl:
        links["last_crawl"] = url_for("api.get_crawl", crawl_id=s.last_crawl)
    return {**s.to_dict(), "links": links}


def _json_body() -> dict[str, Any] | None:
    data = request.get_json(silent=True) if request.is_json else None
    return data if isinstance(data, dict) else None


def _not_found(schedule_id: str) -> Any:
    return error_response(404, f"no schedule {schedule_id[:64]}")



# -- the JSON API ------------------------------------------------------------------------------------
@bp.post("/api/schedules")
@csrf.exempt
def api_create() -> Any:
    data = _json_body()
    if data is None:
        return error_response(400, "send a JSON object with Content-Type: application/json", field="body")
    try:
        req = parse(data)
        check_rate_limit(store())
        s = schedules().create(req)
    except InvalidOption as exc:
        return error_response(400, f"{exc.field}: {exc.message}", field=exc.field)
    resp = jsonify(schedule_json(s))
    resp.status_code = 201
    resp.headers["Location"] = url_for("schedules.api_get", schedule_id=s.id)
    return resp


@bp.get("/api/schedules")
def api_list() -> Any:
    url = request.args.get("url")
    p, n = page_arg("page"), page_arg("per_page", default=50, high=100)
    sch = schedules()
    if url is not None:
        try:
            site, _ = normalize_url(url)
        except InvalidURL as exc:
            return error_response(400, f"url: {exc}", field="url")
        found = sch.for_site(site)
        total, listed = len(found), found[(p - 1) * n:p * n]
    else:
        total, listed = sch.count(), sch.list((p - 1) * n, n)
    return jsonify({"schedules": [schedule_json(s) for s in listed], "page": p, "per_page": n, "total": total,
                    "pages": max(1, -(-total // n))})


@bp.get("/api/schedules/<schedule_id>")
def api_get(schedule_id: str) -> Any:
    s = schedules().get(schedule_id)
    return jsonify(schedule_json(s)) if s else _not_found(schedule_id)


@bp.patch("/api/schedules/<schedule_id>")
@csrf.exempt
def api_update(schedule_id: str) -> Any:
    data = _json_body()
    if data is None:
        return error_response(400, "send a JSON object with Content-Type: application/json", field="body")
    unknown = sorted(set(data) - set(PATCH_FIELDS))
    if unknown:
        return error_response(400, f"{unknown[0]}: cannot be changed; PATCH takes {', '.join(PATCH_FIELDS)} "
                                   "(delete the schedule and create another to change its crawl options)",
                              field=unknown[0])
    if not data:
        return error_response(400, f"nothing to change: send one of {', '.join(PATCH_FIELDS)}", field="body")
    sch = schedules()
    if sch.get(schedule_id) is None:
        return _not_found(schedule_id)
    try:
        when = parse_when(data, min_interval()) if ("every" in data or "cron" in data) else None
        paused = _paused(data["paused"], False) if "paused" in data else None
    except InvalidOption as exc:
        return error_response(400, f"{exc.field}: {exc.message}", field=exc.field)
    try:
        if when is not None:
            sch.set_when(schedule_id, *when)
        if paused is not None:
            sch.set_paused(schedule_id, paused)
    except ScheduleNotFound:
        return _not_found(schedule_id)
    except InvalidOption as exc:  # resuming a stored cron that never fires: change it with "cron"
        return error_response(400, f"{exc.field}: {exc.message}", field=exc.field)
    return jsonify(schedule_json(sch.require(schedule_id)))


@bp.delete("/api/schedules/<schedule_id>")
@csrf.exempt
def api_delete(schedule_id: str) -> Any:
    if not schedules().delete(schedule_id):
        return _not_found(schedule_id)
    return WerkzeugResponse(status=204)


@bp.post("/api/schedules/<schedule_id>/run")
@csrf.exempt
def api_run(schedule_id: str) -> Any:
    """Run now: a crawl of the schedule at once (its next due time stays)."""
    sch = schedules()
    if sch.get(schedule_id) is None:
        return _not_found(schedule_id)
    try:
        check_rate_limit(store())
        crawl_id = sch.run_now(schedule_id)
    except ScheduleNotFound:
        return _not_found(schedule_id)
    except PreviousCrawlRunning as exc:
        return error_response(409, f"the schedule's previous crawl {exc.crawl_id} is still running",
                              crawl=exc.crawl_id)
    resp = jsonify({"crawl": crawl_json(store().require(crawl_id)),
                    "schedule": schedule_json(sch.require(schedule_id))})
    resp.status_code = 201
    resp.headers["Location"] = url_for("api.get_crawl", crawl_id=crawl_id)
    return resp


# -- the site page's forms (CSRF-protected) ------------------------------------------------------------
def _back(url: str) -> WerkzeugResponse:
    if not url:
        return redirect(url_for("crawls.home"), 303)
    return redirect(url_for("sites.site", url=url) + "#schedules", 303)


@bp.post("/schedules")
def form_create() -> Any:
    form = request.form.to_dict()
    url = form.get("url", "")
    # The form offers one "when" box and a choice of what it holds.
    kind, when = form.pop("kind", "every"), form.pop("when", "").strip()
    form.pop("csrf_token", None)
    if kind not in ("every", "cron"):
        kind = "every"
    form[kind] = when
    try:
        req = parse(form, form=True)
        check_rate_limit(store())
        s = schedules().create(req)
    except InvalidOption as exc:
        flash(f"The schedule was not saved: {exc.field}: {exc.message}", "error")
        return _back(url)
    except RateLimited as exc:
        flash(str(exc), "error")
        return _back(url)
    flash(f"Scheduled: {s.url} {s.when}; next run {_when(s.next_run)}.", "ok")
    return _back(s.url)


def _when(t: float | None) -> str:
    return human_time(t) if t else "none (paused)"


def _form_action(schedule_id: str, action: str) -> Any:
    sch = schedules()
    s = sch.get(schedule_id)
    if s is None:
        flash("That schedule no longer exists.", "error")
        return redirect(url_for("crawls.home"), 303)
    if action == "pause":
        sch.set_paused(s.id, True)
        flash(f"Paused: {s.url} {s.when}.", "ok")
    elif action == "resume":
        try:
            s = sch.set_paused(s.id, False)
        except InvalidOption as exc:
            flash(f"Not resumed: {exc.field}: {exc.message}", "error")
        else:
            flash(f"Resumed: next run {_when(s.next_run)}.", "ok")
    elif action == "delete":
        sch.delete(s.id)
        flash(f"Schedule deleted ({s.when}); its crawls stay.", "ok")
    else:
        try:
            check_rate_limit(store())
            crawl_id = sch.run_now(s.id)
        except RateLimited as exc:
            flash(str(exc), "error")
        except PreviousCrawlRunning as exc:
            flash(f"Not started: the previous crawl {exc.crawl_id} is still running.", "error")
        else:
            flash(f"Started crawl {crawl_id} of {s.url}.", "ok")
    return _back(s.url)


@bp.post("/schedules/<schedule_id>/<any(pause, resume, delete, run):action>")
def form_action(schedule_id: str, action: str) -> Any:
    return _form_action(schedule_id, action)


@bp.app_template_global()
def next_scheduled_runs(urls: list[str]) -> dict[str, float]:
    """For the home page's site list: site url -> its soonest scheduled run (two round trips)."""
    return schedules().next_runs(urls) if urls else {}


@bp.app_template_global()
def shortest_schedule_interval() -> str:
    return durations.describe(min_interval())
