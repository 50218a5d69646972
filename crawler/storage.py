"""Crawl records and results in Redis: the API the web app, the CLI and the crawlers share.

No Scrapy import here, so ``web/`` can use it. Key names come from ``crawler.keys``; the frontier's
atomic scripts live in ``crawler.frontier``.
"""

from __future__ import annotations

import builtins
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from crawler.keys import Keys
from crawler.urls import InvalidURL, host_of, normalize_url

# Outcomes a checked url can have; everything but "ok" is listed in the problems set.
OUTCOMES = ("ok", "dead", "blocked", "rate_limited", "excluded", "unsupported")
COUNTERS = (
    "pages_crawled",
    "links_checked",
    "broken",
    "redirected",
    *(f"outcome_{o}" for o in OUTCOMES),
    *(f"status_{c}" for c in ("2xx", "3xx", "4xx", "5xx", "error")),
)
MAX_NOTIFY = 10
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
MAX_SITE_CONCURRENCY = 1000
MAX_SITE_RATE = 10_000


@dataclass
class CrawlOptions:
    max_pages: int | None = None
    max_depth: int | None = None
    respect_robots: bool = True
    check_external: bool = True
    notify: list[str] = field(default_factory=list)
    # Politeness towards the crawled site, shared by every crawler; None: the crawler's default.
    site_concurrency: int | None = None
    site_rate: float | None = None  # requests per second

    def validate(self) -> CrawlOptions:
        if self.site_concurrency is not None and (
            not isinstance(self.site_concurrency, int) or isinstance(self.site_concurrency, bool)
            or not 1 <= self.site_concurrency <= MAX_SITE_CONCURRENCY
        ):
            raise InvalidOption("site_concurrency", f"must be a whole number from 1 to {MAX_SITE_CONCURRENCY}")
        if self.site_rate is not None and (
            not isinstance(self.site_rate, int | float) or isinstance(self.site_rate, bool)
            or not 0 < self.site_rate <= MAX_SITE_RATE
        ):
            raise InvalidOption("site_rate", f"must be requests per second, above 0 and at most {MAX_SITE_RATE}")
        for name in ("max_pages", "max_depth"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise InvalidOption(name, "must be a whole number, 0 or more")
        if self.max_pages == 0:
            raise InvalidOption("max_pages", "must be at least 1")
        if len(self.notify) > MAX_NOTIFY:
            raise InvalidOption("notify", f"at most {MAX_NOTIFY} addresses")
        return self

    @classmethod
    def from_json(cls, raw: str | None) -> CrawlOptions:
        data = json.loads(raw) if raw else {}
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class InvalidOption(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass
class Crawl:
    id: str
    url: str
    host: str
    state: str
    options: CrawlOptions
    created_at: float
    started_at: float | None
    finished_at: float | None
    counters: dict[str, int]

    @property
    def pages_crawled(self) -> int:
        return self.counters.get("pages_crawled", 0)

    @property
    def links_checked(self) -> int:
        return self.counters.get("links_checked", 0)

    @property
    def broken(self) -> int:
        return self.counters.get("broken", 0)

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "state": self.state,
            "options": asdict(self.options),
            "pages_crawled": self.pages_crawled,
            "links_checked": self.links_checked,
            "broken": self.broken,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "counters": dict(self.counters),
        }


@dataclass
class Referrer:
    page: str
    text: str
    element: str
    fragment: str

    def to_dict(self) -> dict[str, str]:
        return {"page": self.page, "text": self.text, "element": self.element, "fragment": self.fragment}


@dataclass
class LinkResult:
    """What checking one url found. ``status`` is the final HTTP status, or None with ``error``."""

    url: str
    outcome: str
    status: int | None = None
    error: str | None = None
    final_url: str | None = None
    redirects: list[list[Any]] = field(default_factory=list)  # [[url, status], ...] hop by hop
    content_type: str | None = None
    external: bool = False
    referrers: list[Referrer] = field(default_factory=list)
    referrer_count: int = 0

    def to_json(self) -> str:
        # "o" first: the frontier's Lua reads the outcome from the start of the string. Empty fields
        # are left out: this is stored once per url, and bytes per url is what Redis sizing is about.
        data: dict[str, Any] = {"o": self.outcome}
        if self.status is not None:
            data["s"] = self.status
        if self.error:
            data["e"] = self.error
        if self.final_url:
            data["f"] = self.final_url
        if self.redirects:
            data["r"] = self.redirects
        if self.content_type:
            data["t"] = self.content_type
        if self.external:
            data["x"] = 1
        return _compact(data)

    @classmethod
    def from_json(cls, url: str, raw: str) -> LinkResult:
        d = json.loads(raw)
        return cls(
            url=url,
            outcome=d["o"],
            status=d.get("s"),
            error=d.get("e"),
            final_url=d.get("f"),
            redirects=d.get("r") or [],
            content_type=d.get("t"),
            external=bool(d.get("x")),
        )

    def to_report(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "error": self.error,
            "outcome": self.outcome,
            "final_url": self.final_url,
            "redirects": self.redirects,
            "external": self.external,
            "referrer_count": self.referrer_count,
            "referrers": [r.to_dict() for r in self.referrers],
        }


class CrawlNotFound(LookupError):
    pass


def _num(raw: str | None) -> float | None:
    return float(raw) if raw else None


class CrawlStore:
    """Create, read, cancel and delete crawls, and read their results."""

    def __init__(self, client: redis.Redis, prefix: str = "lp") -> None:
        # The client must decode responses (decode_responses=True): every reply is a str.
        self.r: Any = client
        self.keys = Keys(prefix)

    # -- records -----------------------------------------------------------------------------------
    def create(self, url: str, options: CrawlOptions | None = None) -> Crawl:
        options = (options or CrawlOptions()).validate()
        seed, _ = normalize_url(url)
        crawl_id = secrets.token_hex(8)
        now = time.time()
        record = {
            "id": crawl_id,
            "url": seed,
            "host": host_of(seed),
            "state": "queued",
            "options": json.dumps(asdict(options)),
            "created_at": repr(now),
            "notify": "1" if options.notify else "",
        }
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.keys.crawl(crawl_id), mapping=record)
        pipe.zadd(self.keys.crawls, {crawl_id: now})
        pipe.rpush(self.keys.start, json.dumps({"crawl_id": crawl_id}))
        pipe.execute()
        return self._to_crawl(record)

    def get(self, crawl_id: str) -> Crawl | None:
        record = self.r.hgetall(self.keys.crawl(crawl_id))
        return self._to_crawl(record) if record else None

    def require(self, crawl_id: str) -> Crawl:
        crawl = self.get(crawl_id)
        if crawl is None:
            raise CrawlNotFound(crawl_id)
        return crawl

    def count(self) -> int:
        return int(self.r.zcard(self.keys.crawls))

    def list(self, offset: int = 0, limit: int = 50) -> builtins.list[Crawl]:
        """Newest first."""
        ids = self.r.zrevrange(self.keys.crawls, offset, offset + limit - 1)
        pipe = self.r.pipeline(transaction=False)
        for crawl_id in ids:
            pipe.hgetall(self.keys.crawl(crawl_id))
        return [self._to_crawl(rec) for rec in pipe.execute() if rec]

    def cancel(self, crawl_id: str) -> bool:
        """Stop a queued or running crawl. Returns False when it had already ended."""
        from crawler.frontier import Scripts  # local: the scripts module imports this one

        return bool(Scripts(self.r, self.keys).cancel(crawl_id, time.time()))

    def delete(self, crawl_id: str) -> bool:
        """Cancel the crawl if needed and remove every key it created."""
        if not self.r.exists(self.keys.crawl(crawl_id)):
            return False
        self.cancel(crawl_id)
        pipe = self.r.pipeline(transaction=False)
        for key in self.r.scan_iter(match=self.keys.crawl_pattern(crawl_id), count=1000):
            pipe.unlink(key)
        pipe.unlink(self.keys.crawl(crawl_id))
        pipe.zrem(self.keys.crawls, crawl_id)
        pipe.srem(self.keys.active, crawl_id)
        pipe.execute()
        return True

    # -- results -----------------------------------------------------------------------------------
    def result(self, crawl_id: str, url: str) -> LinkResult | None:
        raw = self.r.hget(self.keys.urls(crawl_id), url)
        return LinkResult.from_json(url, raw) if raw else None

    def iter_results(self, crawl_id: str, batch: int = 1000) -> Iterator[LinkResult]:
        """Every checked url of the crawl (pending ones skipped), in no particular order."""
        for url, raw in self.r.hscan_iter(self.keys.urls(crawl_id), count=batch):
            if raw:
                yield LinkResult.from_json(url, raw)

    def problems(
        self,
        crawl_id: str,
        outcomes: tuple[str, ...] = ("dead",),
        referrers: int | None = None,
    ) -> builtins.list[LinkResult]:
        """Checked urls whose outcome is in ``outcomes``, sorted by url, each with its referrers
        (at most ``referrers`` of them when given)."""
        urls = sorted(self.r.smembers(self.keys.problems(crawl_id)))
        return self._with_referrers(crawl_id, urls, outcomes, referrers)

    def redirected(self, crawl_id: str) -> builtins.list[LinkResult]:
        urls = sorted(self.r.smembers(self.keys.redirects(crawl_id)))
        return self._with_referrers(crawl_id, urls, None, 0)

    def _with_referrers(
        self, crawl_id: str, urls: builtins.list[str], outcomes: tuple[str, ...] | None, limit: int | None
    ) -> builtins.list[LinkResult]:
        if not urls:
            return []
        raws = self.r.hmget(self.keys.urls(crawl_id), urls)
        found = [
            LinkResult.from_json(url, raw)
            for url, raw in zip(urls, raws, strict=True)
            if raw
        ]
        found = [res for res in found if outcomes is None or res.outcome in outcomes]
        if limit == 0:
            return found
        for res, (count, refs) in zip(found, self.referrers(crawl_id, [r.url for r in found], limit), strict=True):
            res.referrer_count, res.referrers = count, refs
        return found

    def referrers(
        self, crawl_id: str, urls: builtins.list[str], limit: int | None = None
    ) -> builtins.list[tuple[int, builtins.list[Referrer]]]:
        """For each url, in one round trip: how many referrers are kept and the first ``limit``."""
        if not urls:
            return []
        pipe = self.r.pipeline(transaction=False)
        for url in urls:
            key = self.keys.refs(crawl_id, url)
            pipe.llen(key)
            pipe.lrange(key, 0, -1 if limit is None else limit - 1)
        replies = pipe.execute()
        return [
            (int(replies[2 * i]), [Referrer(*json.loads(raw)) for raw in replies[2 * i + 1]])
            for i in range(len(urls))
        ]

    # -- helpers -----------------------------------------------------------------------------------
    def _to_crawl(self, rec: dict[str, str]) -> Crawl:
        return Crawl(
            id=rec["id"],
            url=rec["url"],
            host=rec["host"],
            state=rec["state"],
            options=CrawlOptions.from_json(rec.get("options")),
            created_at=float(rec["created_at"]),
            started_at=_num(rec.get("started_at")),
            finished_at=_num(rec.get("finished_at")),
            counters={name: int(rec.get(name) or 0) for name in COUNTERS},
        )


__all__ = [
    "Crawl",
    "CrawlNotFound",
    "CrawlOptions",
    "CrawlStore",
    "InvalidOption",
    "InvalidURL",
    "LinkResult",
    "Referrer",
]
