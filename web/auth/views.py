"""Authentication, switched on by configuration.

- ``LINKPATROL_USERNAME`` and ``LINKPATROL_PASSWORD`` set: the login page takes that pair; the API and
  the JSON routes also accept HTTP basic with it.
- ``LINKPATROL_API_TOKEN`` set: ``Authorization: Bearer <token>`` opens the API and the JSON routes;
  with no user name and password configured, the login page takes the token as its password, so the
  pages are never open because only a token was set.
- Any credential set: nothing is open but the login page, static files and the OpenAPI document.
  Pages and forms want a login (a session cookie); the API and the JSON routes (``/progress``, any
  ``.json``) want a login, the token or HTTP basic, and answer 401 (JSON) rather than a redirect.
- Neither set: the app is open, as for ``make run`` on a laptop (loopback only).

Who a request is (``identity()``) is decided here once, from credentials that were checked: the rate
limit counts per identity, so a made-up token is anonymous, never someone else's bucket.
"""

from __future__ import annotations

import hmac
import re
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from web.errors import wants_json

bp = Blueprint("auth", __name__, template_folder="templates")
OPEN_ENDPOINTS = {"auth.login", "static", "api.openapi"}
TOKEN_USER = "api-token"  # the session's user after a login with the token (no user name configured)
# What a browser drops from a URL before parsing it (WHATWG URL standard): leading and trailing C0
# controls and spaces, and every tab and newline anywhere.
_EDGES = "".join(chr(c) for c in range(0x21))
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Kept as they are when a local path is percent-encoded for the Location header.
_PATH_SAFE = "/?&=#%:@!$'()*+,;~-._[]"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def ui_login_required() -> bool:
    """A user name and password are configured."""
    return bool(current_app.config["USERNAME"] and current_app.config["PASSWORD"])


def credentials_configured() -> bool:
    """Any credential is configured: then only the login page, static files and the OpenAPI document
    are open."""
    return ui_login_required() or bool(current_app.config["API_TOKEN"])


def credentials_ok(username: str, password: str) -> bool:
    cfg = current_app.config
    # Both compared every time, so the answer takes as long for a bad name as for a bad password.
    return ui_login_required() and _same(username, cfg["USERNAME"]) & _same(password, cfg["PASSWORD"])


def token_ok(token: str) -> bool:
    configured = current_app.config["API_TOKEN"]
    return bool(configured) and _same(token, configured)


def login_user(username: str, password: str) -> str | None:
    """The user a login form's pair signs in as, or None. With no user name configured, the API token
    is the password."""
    if ui_login_required():
        return current_app.config["USERNAME"] if credentials_ok(username, password) else None
    return TOKEN_USER if token_ok(password) else None


def _authenticate() -> str | None:
    """Who sent this request, from a credential that was checked: ``user:<name>`` (session or HTTP
    basic), ``token`` (the API token) or None (anonymous)."""
    user = session.get("user")
    if user:  # signed in with the token: the token's identity, one bucket whichever way it is sent
        return "token" if user == TOKEN_USER else f"user:{user}"
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return "token" if token_ok(header[7:].strip()) else None
    auth = request.authorization
    if auth and auth.type == "basic" and credentials_ok(auth.username or "", auth.password or ""):
        return f"user:{auth.username}"
    return None


def identity() -> str | None:
    """The authenticated identity of the request (None: anonymous), decided once per request."""
    if "identity" not in g:
        g.identity = _authenticate()
    return g.identity  # type: ignore[no-any-return]


def api_authorized() -> bool:
    return not credentials_configured() or identity() is not None


def require_login() -> Any:
    """before_request: the gate for every endpoint."""
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None or not credentials_configured():
        return None
    if request.blueprint == "api" or wants_json():
        if identity() is None:
            abort(401, "Authentication required: sign in, or send Authorization: Bearer <token>.")
        return None
    if not session.get("user"):
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    return None


def safe_next(target: str | None) -> str:
    """Where to go after the login: ``target`` when it is a path on this site once a browser has
    normalised it (tabs and newlines dropped, backslashes read as slashes), else the home page. The
    answer is what the browser would read, percent-encoded for a Location header."""
    home = url_for("crawls.home")
    if not target:
        return home
    cleaned = _TAB_NEWLINE.sub("", target.strip(_EDGES)).replace("\\", "/")
    if not cleaned.startswith("/") or cleaned.startswith("//") or _CONTROL.search(cleaned):
        return home
    return quote(cleaned, safe=_PATH_SAFE)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if not credentials_configured():
        return redirect(url_for("crawls.home"))
    error = None
    if request.method == "POST":
        user = login_user(request.form.get("username", ""), request.form.get("password", ""))
        if user:
            session.clear()
            session["user"] = user
            return redirect(safe_next(request.args.get("next")))
        error = ("That user name and password do not match." if ui_login_required()
                 else "That is not the access token.")
    status = 401 if error else 200
    return render_template("auth/login.html", error=error, token_only=not ui_login_required()), status


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("auth.login") if credentials_configured() else url_for("crawls.home"))
