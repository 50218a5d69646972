"""The linkpatrol web app: ``create_app()`` builds it; gunicorn serves ``web:create_app()``.

Settings come from ``web.config`` defaults, then the environment, then ``test_config``. One blueprint
per feature: ``crawls`` (home, enqueue, cancel...), ``reports`` (report pages, exports), ``api`` (JSON)
and ``auth`` (login). Nothing here connects to Redis before the first request.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import redis
from flask import Flask, Response, g, jsonify, make_response, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from crawler.storage import CrawlStore
from web import config as web_config
from web.views import register_filters

logger = logging.getLogger(__name__)
csrf = CSRFProtect()
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(web_config.DEFAULTS)
    if test_config is None or not test_config.get("IGNORE_ENV"):
        app.config.from_mapping(web_config.from_env())
    if test_config:
        app.config.from_mapping(test_config)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    client = redis.Redis.from_url(
        app.config["REDIS_URL"],
        decode_responses=True,
        socket_connect_timeout=app.config["REDIS_TIMEOUT"],
        socket_timeout=app.config["REDIS_TIMEOUT"],
        health_check_interval=30,
    )
    app.extensions["linkpatrol"] = CrawlStore(client, app.config["LINKPATROL_PREFIX"])
    app.session_interface = SharedKeySessionInterface()
    csrf.init_app(app)
    register_filters(app)

    from web import api, auth, crawls, notify_views, reports, workers_view

    app.register_blueprint(auth.bp)
    app.register_blueprint(crawls.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(api.bp)
    notify_views.init_app(app)  # the jobs page and the mail actions
    csrf.exempt(api.bp)  # the API takes JSON bodies and bearer tokens, never form posts: see api.py
    app.register_blueprint(workers_view.bp)  # live crawlers: /workers, /workers.json
    app.before_request(auth.require_login)
    app.after_request(_security_headers)
    _register_errors(app)
    # Compile the templates now, in the worker's start-up, rather than in someone's first request.
    for name in ("home.html", "report.html", "error.html"):
        app.jinja_env.get_template(name)
    return app


def store() -> CrawlStore:
    from flask import current_app

    return current_app.extensions["linkpatrol"]  # type: ignore[no-any-return]


class SharedKeySessionInterface(SecureCookieSessionInterface):
    """Without LINKPATROL_SECRET_KEY, every worker process shares one random key kept in Redis, so a
    session or CSRF token signed by one gunicorn worker is valid in the others. Redis unreachable:
    no session this time (the request then fails with the 503 page)."""

    def get_signing_serializer(self, app: Flask) -> Any:
        if not app.secret_key:
            s: CrawlStore = app.extensions["linkpatrol"]
            try:
                s.r.set(s.keys.web_secret, secrets.token_urlsafe(48), nx=True)
                app.secret_key = s.r.get(s.keys.web_secret)
            except REDIS_DOWN as exc:
                logger.warning("no session: Redis unreachable (%s)", exc)
                return None
        return super().get_signing_serializer(app)


def _security_headers(response: Any) -> Any:
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str, field: str | None = None, **extra: Any) -> Response:
    """A JSON error under /api/, a friendly page elsewhere."""
    if wants_json():
        body: dict[str, Any] = {"error": message, "status": status}
        if field:
            body["field"] = field
        body.update(extra)
        resp = jsonify(body)
    else:
        resp = make_response(render_template("error.html", status=status, message=message))
    resp.status_code = status
    return resp


def _register_errors(app: Flask) -> None:
    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    def redis_down(exc: Exception) -> Any:
        logger.warning("Redis unreachable while serving %s: %s", request.path, exc)
        g.redis_down = True
        resp = error_response(503, "The crawl database (Redis) is not reachable right now. "
                                   "Please try again in a minute.")
        resp.headers["Retry-After"] = "30"
        return resp

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return error_response(400, "This form has expired or did not come from this site. "
                                   "Go back, reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        resp = error_response(exc.code or 500, exc.description or exc.name)
        if exc.code == 401 and wants_json():
            resp.headers["WWW-Authenticate"] = 'Bearer realm="linkpatrol"'
        return resp
