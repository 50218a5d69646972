"""Configuration read from the environment, in one place.

Every component (crawler, web app, workers, CLI) gets its Redis URL and key prefix from here, so the
same variables steer all of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class Config:
    redis_url: str = DEFAULT_REDIS_URL
    prefix: str = "lp"
    # How long a crawler may stay silent before its in-flight requests go back to the frontier.
    worker_ttl: float = 15.0
    # How often a crawler looks for dead peers and reclaims their work.
    reap_interval: float = 5.0
    # Referrers kept per problem url (the count beyond that is reported, not the pages).
    max_referrers: int = 1000

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            redis_url=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
            prefix=os.environ.get("LINKPATROL_PREFIX") or "lp",
            worker_ttl=_float("LINKPATROL_WORKER_TTL", 15.0),
            reap_interval=_float("LINKPATROL_REAP_INTERVAL", 5.0),
            max_referrers=int(_float("LINKPATROL_MAX_REFERRERS", 1000)),
        )
