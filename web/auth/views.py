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

Every credential check is a login, throttled per account and per client address through Redis
(``linkpatrol.login.throttle``): past a few failures the login form is shown again with a 429 and the
API answers a JSON 429, both with Retry-After. A session cookie is only good while its session is
open in Redis (``linkpatrol.login.sessions``): a logout ends it on the server, "log out everywhere"
(``everywhere=1`` in the logout form) ends all of the user's sessions, and a changed credential in
the configuration ends every session signed in with the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from web.errors import LoginThrottled, throttled_message, wants_json
from web.resources import login_sessions, login_throttle

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


def _credential_stamp() -> str:
    """A short keyed digest of every configured credential, kept in the session cookie: when the
    operator changes the password (or the user name, or the token), sessions signed in with the old
    ones end. Keyed with the signing key, so a cookie never helps to guess the password."""
    cfg = current_app.config
    secret = current_app.secret_key or ""
    key = secret if isinstance(secret, bytes) else str(secret).encode()
    credentials = "\n".join((cfg["USERNAME"], cfg["PASSWORD"], cfg["API_TOKEN"]))
    return hmac.new(key, credentials.encode(), hashlib.sha256).hexdigest()[:24]


def _start_session(user: str) -> None:
    session.clear()
    session["user"] = user
    session["sid"] = login_sessions().open(user, current_app.permanent_session_lifetime.total_seconds())
    session["cred"] = _credential_stamp()


def _session_user() -> str | None:
    user, sid = session.get("user"), session.get("sid")
    if not user:
        return None
    if (isinstance(user, str) and isinstance(sid, str) and _same(str(session.get("cred", "")), _credential_stamp())
            and login_sessions().alive(user, sid)):
        return user
    session.clear()  # signed out on the server, or signed in with a credential that changed since
    return None


def session_user() -> str | None:
    """The user this request's session cookie signs in, while that session is open on the server
    (decided once per request; a closed session's cookie is cleared)."""
    if "session_user" not in g:
        g.session_user = _session_user()
    return g.session_user  # type: ignore[no-any-return]


def _client_address() -> str | None:
    return request.remote_addr  # the client's, behind LINKPATROL_TRUSTED_PROXIES proxies


def _checked(account: str, right: Callable[[], bool]) -> bool:
    """A credential sent with the request (a bearer token, an HTTP basic pair), throttled like the
    login form: a client past the limit gets a 429 (``LoginThrottled``) before the credential is even
    compared, and a wrong one counts as a failed login."""
    throttle, address = login_throttle(), _client_address()
    check = throttle.check(account, address)
    if check.wait:
        raise LoginThrottled(check.retry_after)
    if right():
        throttle.remember(account, address, check)
        return True
    throttle.failed(account, address)
    return False


def _authenticate() -> str | None:
    """Who sent this request, from a credential that was checked: ``user:<name>`` (session or HTTP
    basic), ``token`` (the API token) or None (anonymous). A bearer token or basic pair is a login
    only when that kind of credential is configured."""
    user = session_user()
    if user:  # signed in with the token: the token's identity, one bucket whichever way it is sent
        return "token" if user == TOKEN_USER else f"user:{user}"
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        if current_app.config["API_TOKEN"] and _checked("token", lambda: token_ok(token)):
            return "token"
        return None
    auth = request.authorization
    if auth and auth.type == "basic" and ui_login_required():
        name, password = auth.username or "", auth.password or ""
        if _checked(f"user:{name}", lambda: credentials_ok(name, password)):
            return f"user:{name}"
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
    if not session_user():
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


def _login_form(error: str | None = None, status: int = 200, retry_after: int = 0) -> Any:
    page = render_template("auth/login.html", error=error, token_only=not ui_login_required())
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return page, status, headers


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if not credentials_configured():
        return redirect(url_for("crawls.home"))
    session_user()  # a cookie of a closed session is cleared before the page shows who is signed in
    if request.method == "GET":
        return _login_form()
    username, password = request.form.get("username", ""), request.form.get("password", "")
    account = f"user:{username}" if ui_login_required() else "token"
    throttle, address = login_throttle(), _client_address()
    check = throttle.check(account, address)
    if check.wait:  # refused before the password is compared: the answer says nothing about it
        return _login_form(throttled_message(check.retry_after), 429, check.retry_after)
    user = login_user(username, password)
    if user:
        throttle.signed_in(account, address)
        _start_session(user)
        return redirect(safe_next(request.args.get("next")))
    wait = throttle.failed(account, address)
    error = "That user name and password do not match." if ui_login_required() else "That is not the access token."
    if wait:
        error = f"{error} {throttled_message(math.ceil(wait))}"
    return _login_form(error, 401)


@bp.post("/logout")
def logout() -> Any:
    """End this session on the server (``everywhere=1``: every session of the user), then the cookie."""
    user, sid = session.get("user"), session.get("sid")
    if isinstance(user, str) and isinstance(sid, str):
        if request.form.get("everywhere"):
            login_sessions().end_all(user)
        else:
            login_sessions().end(user, sid)
    session.clear()
    return redirect(url_for("auth.login") if credentials_configured() else url_for("crawls.home"))
