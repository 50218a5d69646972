"""Configuration read from the environment, in one place.

Every kind of process (crawler, web app, mail worker, command line) gets its Redis URL, key prefix
and start queue from here, so the same variables steer all of them. The crawler turns these into
Scrapy settings (``crawler/settings.py``), so ``scrapy crawl links -s REDIS_URL=...`` overrides them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "lp"
# scrapy-redis's default start key for a spider named "links" ("%(name)s:start_urls").
DEFAULT_START_KEY = "links:start_urls"


class BadSetting(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise BadSetting(f"{name} must be a number, got {raw!r}") from exc


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise BadSetting(f"{name} must be a whole number, 0 or more, got {raw!r}")
    return int(raw)


def default_start_key(prefix: str) -> str:
    """Installs that share one Redis under different prefixes must not share a start queue."""
    return DEFAULT_START_KEY if prefix == DEFAULT_PREFIX else f"{prefix}:{DEFAULT_START_KEY}"


@dataclass(frozen=True)
class Config:
    redis_url: str = DEFAULT_REDIS_URL
    prefix: str = DEFAULT_PREFIX
    # The list crawlers read start messages from (scrapy-redis's REDIS_START_URLS_KEY).
    start_key: str = DEFAULT_START_KEY
    # How long a crawler may stay silent before its in-flight requests go back to the frontier.
    worker_ttl: float = 15.0
    # How often a crawler looks for dead peers and reclaims their work.
    reap_interval: float = 5.0
    # Referrers kept per problem url (the count beyond that is reported, not the pages).
    max_referrers: int = 1000
    # Crawls kept per site (LINKPATROL_KEEP_CRAWLS): creating one deletes the site's older ended
    # crawls beyond this many; 0 keeps them all.
    keep_crawls: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        prefix = env.get("LINKPATROL_PREFIX") or DEFAULT_PREFIX
        return cls(
            redis_url=env.get("REDIS_URL") or DEFAULT_REDIS_URL,
            prefix=prefix,
            start_key=env.get("REDIS_START_URLS_KEY") or default_start_key(prefix),
            worker_ttl=_float(env, "LINKPATROL_WORKER_TTL", 15.0),
            reap_interval=_float(env, "LINKPATROL_REAP_INTERVAL", 5.0),
            max_referrers=int(_float(env, "LINKPATROL_MAX_REFERRERS", 1000)),
            keep_crawls=_whole(env, "LINKPATROL_KEEP_CRAWLS", 30),
        )

    @property
    def redis_location(self) -> str:
        """The Redis URL without credentials, for logs and messages."""
        return self.redis_url.split("@")[-1]
