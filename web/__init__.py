"""The linkpatrol web app: ``create_app()`` builds it; gunicorn serves ``web:create_app()``.

Settings come from ``web.settings`` defaults, then the environment, then ``test_config``. The Redis
resources are ``web.resources``. One blueprint per feature, each a package with its templates:
``crawls`` (home, enqueue, cancel...), ``reports`` (report pages, exports), ``sites`` (a site's crawls
and their trend), ``api`` (JSON), ``auth`` (login), ``crawlers`` (the live crawler processes) and
``mail`` (the jobs page and the mail actions; the mail itself and its worker live there too). Nothing
here connects to Redis before the first request.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from linkpatrol.store.connection import RedisError, unavailable
from web import errors, formatting, resources
from web import settings as web_settings

logger = logging.getLogger(__name__)
csrf = CSRFProtect()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(web_settings.DEFAULTS)
    if test_config is None or not test_config.get("IGNORE_ENV"):
        app.config.from_mapping(web_settings.from_env())
    if test_config:
        app.config.from_mapping(test_config)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    resources.init_app(app)
    app.session_interface = SharedKeySessionInterface()
    app.before_request(_no_session_no_service)  # first: before CSRFProtect's check needs the session
    csrf.init_app(app)
    formatting.init_app(app)
    errors.init_app(app)

    from web import api, auth, crawlers, crawls, jobs, reports, schedules, sites

    app.register_blueprint(auth.bp)
    app.register_blueprint(crawls.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(sites.bp)
    app.register_blueprint(schedules.bp)  # /api/schedules (CSRF-exempt per view) and the site page's forms
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # the API takes JSON bodies and bearer tokens, never form posts: see web/api
    app.register_blueprint(crawlers.bp)
    app.register_blueprint(jobs.bp)
    app.before_request(auth.require_login)
    app.after_request(_security_headers)
    # Compile the templates now, in the worker's start-up, rather than in someone's first request.
    for name in ("crawls/home.html", "reports/report.html", "error.html"):
        app.jinja_env.get_template(name)
    return app


class SharedKeySessionInterface(SecureCookieSessionInterface):
    """Without LINKPATROL_SECRET_KEY, every worker process shares one random key kept in Redis, so a
    session or CSRF token signed by one gunicorn worker is valid in the others. Redis unavailable
    (down, busy, loading...): no session this time, and ``g.redis_down`` says so
    (``_no_session_no_service`` then answers 503)."""

    def get_signing_serializer(self, app: Flask) -> Any:
        if not app.secret_key:
            try:
                app.secret_key = resources.store(app).web_secret()
            except RedisError as exc:
                if not unavailable(exc):
                    raise
                logger.warning("no session: Redis unavailable (%s)", exc)
                g.redis_down = True
                return None
        return super().get_signing_serializer(app)


def _no_session_no_service() -> Any:
    """Redis could not give the session its signing key (``g.redis_down``, set while the session
    opened): nobody can be signed in and no CSRF token checked, so everything but static files and the
    OpenAPI document is a 503 until it is back (not a redirect to a login page that cannot work, not
    the 500 a CSRF check without a key would give)."""
    if g.get("redis_down") and request.endpoint not in ("static", "api.openapi"):
        return errors.redis_down_response()
    return None


def _security_headers(response: Any) -> Any:
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response
