"""Errors as a person or a client reads them: JSON for JSON routes, a friendly page elsewhere.

Redis that cannot serve us now (down, unreachable, BUSY running a long script, LOADING its data set,
a read-only replica...: ``linkpatrol.store.connection.unavailable``) is a 503 with ``Retry-After``, never a
500 and never a traceback, wherever in the request it shows up (a view, the session, a hook).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from linkpatrol.store.connection import RedisError, refused, refused_message, unavailable

logger = logging.getLogger(__name__)
RETRY_AFTER = "30"
UNAVAILABLE = "The crawl database (Redis) is not reachable or too busy right now. Please try again in a minute."
# Routes outside /api/ that answer JSON (the pages' live progress polling).
JSON_SUFFIXES = (".json", "/progress")


def wants_json() -> bool:
    """The API, the JSON routes (``/progress``, ``/crawls/<id>/progress``, ``/jobs.json``,
    ``/crawlers.json``, any ``.json``), and any request whose client prefers JSON to HTML."""
    path = request.path
    if path.startswith("/api/") or path.endswith(JSON_SUFFIXES):
        return True
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


def error_response(status: int, message: str, field: str | None = None, **extra: Any) -> Response:
    """A JSON error for JSON routes, a friendly page elsewhere."""
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


def redis_down_response() -> Response:
    """503 with Retry-After (JSON or the page)."""
    g.redis_down = True
    resp = error_response(503, UNAVAILABLE)
    resp.headers["Retry-After"] = RETRY_AFTER
    return resp


def redis_error(exc: RedisError) -> Response:
    if refused(exc):  # the operator's credentials or ACL: not the visitor's fault, not a bug of ours
        logger.error("while serving %s: %s", request.path, refused_message(exc))
        return redis_down_response()
    if unavailable(exc):
        logger.warning("Redis unavailable while serving %s: %s", request.path, exc)
        return redis_down_response()
    # Any other Redis error (WRONGTYPE, a script error) is a bug of ours: a 500 with its traceback.
    logger.error("Redis error while serving %s", request.path, exc_info=exc)
    return error_response(500, "Something went wrong on our side.")


def internal_error(exc: InternalServerError) -> Response:
    """Exceptions raised outside a view's own handling (opening the session, a hook) end here."""
    original = exc.original_exception
    if original is not None and refused(original):
        logger.error("while serving %s: %s", request.path, refused_message(original))
        return redis_down_response()
    if original is not None and unavailable(original):
        logger.warning("Redis unavailable while serving %s: %s", request.path, original)
        return redis_down_response()
    return error_response(500, "Something went wrong on our side.")


def too_deep(exc: RecursionError) -> Response:
    """A JSON body nested thousands of levels deep makes the decoder recurse too far: bad input."""
    if request.is_json:
        return error_response(400, "the JSON body is nested too deeply", field="body")
    raise exc


def csrf_error(exc: CSRFError) -> Response:
    return error_response(400, "This form has expired or did not come from this site. "
                               "Go back, reload the page and try again.")


def http_error(exc: HTTPException) -> Response:
    resp = error_response(exc.code or 500, exc.description or exc.name)
    if exc.code == 401 and wants_json():
        resp.headers["WWW-Authenticate"] = 'Bearer realm="linkpatrol"'
    return resp


class RateLimited(Exception):
    """Too many crawls started by one client (API, form or schedule); ``str()`` says when to retry.
    The API answers it with a 429 (``rate_limited`` below); a form shows it as a flash message."""

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message or f"Too many crawls started from here; try again in {retry_after} seconds.")
        self.retry_after = retry_after


def throttled_message(retry_after: int) -> str:
    return f"Too many failed sign-ins. Try again in {retry_after} second{'s' if retry_after != 1 else ''}."


class LoginThrottled(RateLimited):
    """Too many failed logins for this account or from this address (``linkpatrol.login.throttle``):
    a 429 with Retry-After like the crawl rate limit, with its own message."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after, throttled_message(retry_after))


def rate_limited(exc: RateLimited) -> Response:
    resp = error_response(429, str(exc))
    resp.headers["Retry-After"] = str(exc.retry_after)
    return resp


def init_app(app: Flask) -> None:
    app.register_error_handler(RateLimited, rate_limited)
    app.register_error_handler(RedisError, redis_error)
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(RecursionError, too_deep)
    app.register_error_handler(InternalServerError, internal_error)
    app.register_error_handler(HTTPException, http_error)
