"""Errors as a person or a client reads them: JSON under /api/, a friendly page elsewhere; Redis
unreachable is a 503 with Retry-After, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from linkpatrol.connection import REDIS_DOWN, RedisError

logger = logging.getLogger(__name__)


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


def redis_down(exc: Exception) -> Response:
    logger.warning("Redis unreachable while serving %s: %s", request.path, exc)
    g.redis_down = True
    resp = error_response(503, "The crawl database (Redis) is not reachable right now. Please try again in a minute.")
    resp.headers["Retry-After"] = "30"
    return resp


def csrf_error(exc: CSRFError) -> Response:
    return error_response(400, "This form has expired or did not come from this site. "
                               "Go back, reload the page and try again.")


def http_error(exc: HTTPException) -> Response:
    resp = error_response(exc.code or 500, exc.description or exc.name)
    if exc.code == 401 and wants_json():
        resp.headers["WWW-Authenticate"] = 'Bearer realm="linkpatrol"'
    return resp


def init_app(app: Flask) -> None:
    # Redis's own "not reachable" errors; any other OSError in a view is a bug of ours: a 500.
    for kind in REDIS_DOWN:
        if issubclass(kind, RedisError):
            app.register_error_handler(kind, redis_down)
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
