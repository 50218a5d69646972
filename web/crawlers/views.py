"""The live crawler processes, for operators: ``/crawlers`` (a page) and ``/crawlers.json``; the
paths of an earlier version (``/workers``, ``/workers.json``) redirect there.

A crawler is listed while its heartbeat key lives (``linkpatrol.store.registry``); one that died drops off
within ``LINKPATROL_WORKER_TTL`` seconds, and a peer puts its in-flight work back in the frontier.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, url_for

from web.formatting import iso
from web.resources import crawlers

bp = Blueprint("crawlers", __name__, template_folder="templates")


def _crawlers() -> list[dict[str, Any]]:
    now = time.time()
    out = []
    for w in crawlers():
        started, seen = float(w.get("started") or now), float(w.get("seen") or now)
        out.append({
            "id": w["id"],
            "host": w.get("host", ""),
            "pid": w.get("pid"),
            "started_at": iso(started),
            "uptime": max(0.0, now - started),
            "last_seen_at": iso(seen),
            "seconds_since_heartbeat": max(0.0, now - seen),
            "done": int(w.get("done") or 0),
            "held": int(w.get("held") or 0),
            "crawl": w.get("crawl") or None,
            "render": int(w.get("render") or 0),  # pages it renders at once (0: it does not render)
        })
    return out


@bp.get("/crawlers")
def page() -> Any:
    return render_template("crawlers/list.html", crawlers=_crawlers())


@bp.get("/crawlers.json")
def as_json() -> Any:
    crawlers = _crawlers()
    return jsonify({"count": len(crawlers), "crawlers": crawlers})


@bp.get("/workers")
def old_page() -> Any:
    return redirect(url_for("crawlers.page"), 308)


@bp.get("/workers.json")
def old_json() -> Any:
    return redirect(url_for("crawlers.as_json"), 308)
