"""Authentication, switched on by configuration.

- ``LINKPATROL_USERNAME`` and ``LINKPATROL_PASSWORD`` set: every page wants a login (a session cookie);
  the API also accepts HTTP basic with the same pair.
- ``LINKPATROL_API_TOKEN`` set: the API wants ``Authorization: Bearer <token>`` (or a logged-in session,
  so the pages' own progress polling works).
Neither set: the app is open, as for a laptop.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for

bp = Blueprint("auth", __name__, template_folder="templates")
OPEN_ENDPOINTS = {"auth.login", "static", "api.openapi"}


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def ui_login_required() -> bool:
    return bool(current_app.config["USERNAME"] and current_app.config["PASSWORD"])


def credentials_ok(username: str, password: str) -> bool:
    cfg = current_app.config
    # Both compared every time, so the answer takes as long for a bad name as for a bad password.
    return _same(username, cfg["USERNAME"]) & _same(password, cfg["PASSWORD"])


def api_authorized() -> bool:
    cfg = current_app.config
    if not cfg["API_TOKEN"] and not ui_login_required():
        return True
    if session.get("user"):
        return True
    header = request.headers.get("Authorization", "")
    if cfg["API_TOKEN"] and header.startswith("Bearer ") and _same(header[7:].strip(), cfg["API_TOKEN"]):
        return True
    auth = request.authorization
    return bool(ui_login_required() and auth and auth.type == "basic"
                and credentials_ok(auth.username or "", auth.password or ""))


def require_login() -> Any:
    """before_request: the gate for every endpoint."""
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
        return None
    if request.blueprint == "api":
        if not api_authorized():
            abort(401, "Authentication required: send Authorization: Bearer <token>.")
        return None
    if ui_login_required() and not session.get("user"):
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    return None


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("crawls.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if not ui_login_required():
        return redirect(url_for("crawls.home"))
    error = None
    if request.method == "POST":
        if credentials_ok(request.form.get("username", ""), request.form.get("password", "")):
            session.clear()
            session["user"] = current_app.config["USERNAME"]
            return redirect(_safe_next(request.args.get("next")))
        error = "That user name and password do not match."
    status = 401 if error else 200
    return render_template("auth/login.html", error=error), status


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("auth.login") if ui_login_required() else url_for("crawls.home"))
