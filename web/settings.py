"""The web app's settings: defaults, then the environment (``from_env``), then test overrides.

The Redis URL, the key prefix and the start queue come from ``linkpatrol.config``, as for every other
process; the rest is the web app's own.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from linkpatrol import env as read
from linkpatrol.config import DEFAULT_PREFIX, DEFAULT_REDIS_URL, Config
from linkpatrol.login.throttle import LoginLimits
from linkpatrol.model.addresses import AddressPolicy

DEFAULTS: dict[str, Any] = {
    "REDIS_URL": DEFAULT_REDIS_URL,
    "LINKPATROL_PREFIX": DEFAULT_PREFIX,
    "START_KEY": "",  # empty: the default start queue for the prefix (linkpatrol.config)
    "SECRET_KEY": None,  # None: a random key shared by all workers through Redis (CrawlStore.web_secret)
    "API_TOKEN": "",  # set: the API wants "Authorization: Bearer <token>" (or a logged-in session)
    "USERNAME": "",  # both set: the pages want a login; the API also takes HTTP basic
    "PASSWORD": "",
    "RATE_LIMIT": 10,  # crawls created per client and window; 0 switches the limit off
    "RATE_WINDOW": 60,
    "ADDRESS_POLICY": AddressPolicy(),
    "LOGIN_LIMITS": LoginLimits(),  # failed logins per account and address before a 429 (LINKPATROL_LOGIN_LIMIT)
    "TRUSTED_PROXIES": 0,  # how many X-Forwarded-For hops to believe (behind a reverse proxy)
    "PER_PAGE": 50,
    "KEEP_CRAWLS": Config.keep_crawls,  # crawls kept per site (LINKPATROL_KEEP_CRAWLS; 0: all)
    "REDIS_TIMEOUT": 3.0,
    "MAIL_SETTINGS": None,  # None: web.notifications.settings.MailSettings.from_env() on first use
    "WTF_CSRF_TIME_LIMIT": None,  # a token lives as long as the session
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 64 * 1024,
}


def check_credentials(env: Mapping[str, str]) -> None:
    """A published service (docker-compose sets ``LINKPATROL_REQUIRE_LOGIN=1``) refuses to start with
    no credential at all, unless the operator says ``LINKPATROL_ALLOW_NO_LOGIN=1``."""
    if not read.flag(env, "LINKPATROL_REQUIRE_LOGIN") or read.flag(env, "LINKPATROL_ALLOW_NO_LOGIN"):
        return
    pair = env.get("LINKPATROL_USERNAME", "") and env.get("LINKPATROL_PASSWORD", "")
    if not (pair or env.get("LINKPATROL_API_TOKEN", "")):
        raise read.BadSetting("no login configured: set LINKPATROL_USERNAME and LINKPATROL_PASSWORD (or "
                         "LINKPATROL_API_TOKEN), or LINKPATROL_ALLOW_NO_LOGIN=1 to serve an open app")


def from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if env is None else env
    check_credentials(env)
    config = Config.from_env(env)
    out: dict[str, Any] = {
        "REDIS_URL": config.redis_url,
        "LINKPATROL_PREFIX": config.prefix,
        "START_KEY": config.start_key,
        "KEEP_CRAWLS": config.keep_crawls,
        "API_TOKEN": env.get("LINKPATROL_API_TOKEN", ""),
        "USERNAME": env.get("LINKPATROL_USERNAME", ""),
        "PASSWORD": env.get("LINKPATROL_PASSWORD", ""),
        "TRUSTED_PROXIES": read.whole(env, "LINKPATROL_TRUSTED_PROXIES", DEFAULTS["TRUSTED_PROXIES"]),
        "ADDRESS_POLICY": AddressPolicy.from_env(env),
        "LOGIN_LIMITS": LoginLimits.from_env(env),
    }
    if env.get("LINKPATROL_SECRET_KEY"):
        out["SECRET_KEY"] = env["LINKPATROL_SECRET_KEY"]
    # "10/60": 10 crawls per 60 seconds; "0": no limit.
    count, window = read.per_window(env, "LINKPATROL_RATE_LIMIT", (DEFAULTS["RATE_LIMIT"], DEFAULTS["RATE_WINDOW"]),
                                    "10/60")
    out["RATE_LIMIT"], out["RATE_WINDOW"] = count, math.ceil(window)
    if read.flag(env, "LINKPATROL_SECURE_COOKIES"):
        out["SESSION_COOKIE_SECURE"] = True
    return out
