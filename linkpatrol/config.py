"""Configuration read from the environment, in one place.

Every kind of process (crawler, web app, mail worker, command line) gets its Redis URL, key prefix
and start queue from here, so the same variables steer all of them. The crawler turns these into
Scrapy settings (``crawler/settings.py``), so ``scrapy crawl links -s REDIS_URL=...`` overrides them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from linkpatrol import env as read
from linkpatrol.env import BadSetting  # noqa: F401  (re-exported: where every process imports it)
from linkpatrol.model.option_values import MAX_DURATION

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "lp"
# scrapy-redis's default start key for a spider named "links" ("%(name)s:start_urls").
DEFAULT_START_KEY = "links:start_urls"


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
    # Schedules (``linkpatrol.watch.schedules``): the shortest interval a schedule may ask for
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
        """The variables named above; unset or blank ones take the defaults of this class."""
        env = os.environ if env is None else env
        d = cls()
        prefix = read.text(env, "LINKPATROL_PREFIX", DEFAULT_PREFIX)
        return cls(
            redis_url=read.text(env, "REDIS_URL", DEFAULT_REDIS_URL),
            prefix=prefix,
            start_key=read.text(env, "REDIS_START_URLS_KEY", default_start_key(prefix)),
            worker_ttl=read.number(env, "LINKPATROL_WORKER_TTL", d.worker_ttl, minimum=0.1),
            reap_interval=read.number(env, "LINKPATROL_REAP_INTERVAL", d.reap_interval, minimum=0.1),
            max_referrers=read.whole(env, "LINKPATROL_MAX_REFERRERS", d.max_referrers),
            keep_crawls=read.whole(env, "LINKPATROL_KEEP_CRAWLS", d.keep_crawls),
            min_schedule_interval=read.number(env, "LINKPATROL_MIN_SCHEDULE_INTERVAL", d.min_schedule_interval,
                                              minimum=1),
            schedule_tick=read.whole(env, "LINKPATROL_SCHEDULE_TICK", d.schedule_tick, minimum=1),
            max_pages=read.whole(env, "LINKPATROL_MAX_PAGES", d.max_pages),
            max_depth=read.whole(env, "LINKPATROL_MAX_DEPTH", d.max_depth),
            max_duration=read.seconds(env, "LINKPATROL_MAX_DURATION", d.max_duration, maximum=MAX_DURATION),
            trap_ids=read.whole(env, "LINKPATROL_TRAP_IDS", d.trap_ids),
        )

    @property
    def redis_location(self) -> str:
        """The Redis URL without credentials, for logs and messages."""
        return self.redis_url.split("@")[-1]
