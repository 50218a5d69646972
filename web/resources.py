"""The app's Redis resources, in the shape of flaskr's ``db.py``: ``init_app(app)`` builds them from
the app's settings, the accessors below hand them to views, and ``get_crawl_or_404`` is the one way a
view turns a crawl id from the URL into a crawl.

Clients come from ``linkpatrol.store.connection`` (the only place that builds them) and connect lazily: no
Redis is touched before the first request. Both are connection pools shared by the app's threads, so
there is nothing to open or close per request (no teardown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, current_app

from linkpatrol.config import Config, default_start_key
from linkpatrol.login.sessions import LoginSessions
from linkpatrol.login.throttle import LoginThrottle
from linkpatrol.model.records import Crawl
from linkpatrol.store import connection
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys

EXTENSION = "linkpatrol"


@dataclass
class Resources:
    keys: Keys
    store: CrawlStore
    rq: connection.Client  # does not decode: RQ stores pickles
    throttle: LoginThrottle
    sessions: LoginSessions


def config_of(app: Flask) -> Config:
    """The core's configuration, from the app's settings (which ``web.settings`` read from the same
    environment variables as every other process)."""
    prefix = app.config["LINKPATROL_PREFIX"]
    return Config(redis_url=app.config["REDIS_URL"], prefix=prefix,
                  start_key=app.config.get("START_KEY") or default_start_key(prefix),
                  keep_crawls=app.config["KEEP_CRAWLS"])


def init_app(app: Flask) -> None:
    config = config_of(app)
    keys = Keys.from_config(config)
    timeout = app.config["REDIS_TIMEOUT"]
    client = connection.client(config.redis_url, timeout=timeout)
    rq = connection.client(config.redis_url, decode=False, timeout=timeout)
    app.extensions[EXTENSION] = Resources(keys, CrawlStore.from_config(client, config), rq,
                                          LoginThrottle(client, keys, app.config["LOGIN_LIMITS"]),
                                          LoginSessions(client, keys))


def _resources(app: Flask | None = None) -> Resources:
    return (app or current_app).extensions[EXTENSION]  # type: ignore[no-any-return]


def store(app: Flask | None = None) -> CrawlStore:
    """The app's crawl store (``app``: outside a request, e.g. the session interface)."""
    return _resources(app).store


def rq_connection() -> connection.Client:
    return _resources().rq


def login_throttle() -> LoginThrottle:
    """Failed logins per account and address, shared by every web process (``linkpatrol.login.throttle``)."""
    return _resources().throttle


def login_sessions() -> LoginSessions:
    """The open sign-in sessions (``linkpatrol.login.sessions``)."""
    return _resources().sessions


def keys() -> Keys:
    """The key layout, for the names RQ needs (``keys().mail_queue``); views never spell a key."""
    return _resources().keys


def crawlers() -> list[dict[str, Any]]:
    """The live crawler processes (``linkpatrol.store.registry``)."""
    return store().crawlers()


def get_crawl_or_404(crawl_id: str) -> Crawl:
    """The crawl of a URL path, or a 404 (a page, or JSON under /api/: see ``web.errors``)."""
    crawl = store().get(crawl_id)
    if crawl is None:
        abort(404, "There is no such crawl: it may have been deleted.")
    return crawl
