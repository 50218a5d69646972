"""Configuration read from the environment, in one place.

Every kind of process (crawler, web app, mail worker, command line) gets its Redis URL, key prefix
and start queue from here, so the same variables steer all of them. The crawler turns these into
Scrapy settings (``crawler/settings.py``), so ``scrapy crawl links -s REDIS_URL=...`` overrides them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from linkpatrol.records import InvalidOption, parse_duration

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


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if raw == "0":
        return 0
    try:
        return parse_duration(name, raw) or 0
    except InvalidOption as exc:
        raise BadSetting(f"{name} must be seconds or a duration such as 12h, got {raw!r}") from exc


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
    # Schedules (``linkpatrol.schedules``): the shortest interval a schedule may ask for
    # (LINKPATROL_MIN_SCHEDULE_INTERVAL, seconds), and how often the cron process enqueues the tick
    # job that starts due crawls (LINKPATROL_SCHEDULE_TICK, seconds: the most a run can be late).
    min_schedule_interval: float = 300.0
    schedule_tick: int = 10
    # Limits every crawl gets unless it says otherwise (0: none): far above what a real site needs,
    # reached by every crawl trap. LINKPATROL_MAX_PAGES, LINKPATROL_MAX_DEPTH, LINKPATROL_MAX_DURATION
    # (seconds, or "12h", "30m"...); LINKPATROL_TRAP_IDS: urls of one id template (``/day/N``) followed
    # before the rest are held back as a possible trap.
    max_pages: int = 100_000
    max_depth: int = 100
    max_duration: int = 12 * 3600
    trap_ids: int = 5_000

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
            min_schedule_interval=_float(env, "LINKPATROL_MIN_SCHEDULE_INTERVAL", 300.0),
            schedule_tick=max(1, _whole(env, "LINKPATROL_SCHEDULE_TICK", 10)),
            max_pages=_whole(env, "LINKPATROL_MAX_PAGES", 100_000),
            max_depth=_whole(env, "LINKPATROL_MAX_DEPTH", 100),
            max_duration=_seconds(env, "LINKPATROL_MAX_DURATION", 12 * 3600),
            trap_ids=_whole(env, "LINKPATROL_TRAP_IDS", 5_000),
        )

    @property
    def redis_location(self) -> str:
        """The Redis URL without credentials, for logs and messages."""
        return self.redis_url.split("@")[-1]
