"""Report queries: filter, sort and paginate a crawl's checked links, fast at 100k of them.

Each view reads only the urls it needs (the problem set for "dead" and "other", the redirect set for
"redirects", everything for "all"), decoded once into compact rows that are kept in a small per-process
cache. A finished crawl never changes, so its rows are reused until evicted; a running crawl's rows are
refreshed at most every ``LIVE_TTL`` seconds. Referrers are read only for the rows on the page shown.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from crawler.storage import Crawl, CrawlStore, Referrer

VIEWS = {
    "dead": "Dead links",
    "other": "Blocked, rate-limited or unknown",
    "redirects": "Redirects",
    "all": "All checked links",
}
OTHER_OUTCOMES = ("blocked", "rate_limited", "excluded", "unsupported")
CLASSES = ("2xx", "3xx", "4xx", "5xx", "error")
SORTS = ("url", "status", "referrers")
LIVE_TTL = 2.0
CACHE_SIZE = 6
INLINE_REFERRERS = 20


def status_class(status: int | None) -> str:
    if status is None:
        return "error"
    return f"{min(max(status // 100, 2), 5)}xx"


@dataclass(slots=True)
class Row:
    url: str
    outcome: str
    status: int | None
    error: str | None
    external: bool
    final_url: str | None
    hops: int
    referrer_count: int = 0
    referrers: list[Referrer] = field(default_factory=list)

    @property
    def status_class(self) -> str:
        return status_class(self.status)

    @property
    def status_text(self) -> str:
        return str(self.status) if self.status is not None else (self.error or "error")


def _row(url: str, raw: str) -> Row:
    d = json.loads(raw)
    return Row(url, d["o"], d.get("s"), d.get("e"), bool(d.get("x")), d.get("f"), len(d.get("r") or ()))


@dataclass
class Query:
    view: str = "dead"
    scope: str = "all"  # all, internal, external
    cls: str = ""  # one of CLASSES or "" for any
    q: str = ""
    sort: str = "url"
    desc: bool = False
    page: int = 1
    per_page: int = 50

    @classmethod
    def from_args(cls, args: Any, per_page: int = 50) -> Query:
        def pick(name: str, allowed: Any, default: str) -> str:
            value = args.get(name, default)
            return value if value in allowed else default

        def number(name: str, default: int, top: int) -> int:
            raw = args.get(name, "")
            return min(max(int(raw), 1), top) if raw.isdigit() else default

        return cls(
            view=pick("view", VIEWS, "dead"),
            scope=pick("scope", ("all", "internal", "external"), "all"),
            cls=pick("cls", CLASSES, ""),
            q=args.get("q", "")[:200].strip(),
            sort=pick("sort", SORTS, "url"),
            desc=args.get("dir") == "desc",
            page=number("page", 1, 1_000_000),
            per_page=number("per_page", per_page, 500),
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """URL parameters for this query with some changed (for links to other pages and sorts)."""
        out = {"view": self.view, "scope": self.scope, "cls": self.cls, "q": self.q, "sort": self.sort,
               "dir": "desc" if self.desc else "asc", "page": self.page, "per_page": self.per_page}
        out.update(changes)
        return {k: v for k, v in out.items() if v not in ("", None)}


@dataclass
class Page:
    rows: list[Row]
    total: int
    query: Query

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


class RowCache:
    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._data: OrderedDict[tuple[str, str], tuple[tuple[Any, ...], float, list[Row]]] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, store: CrawlStore, crawl: Crawl, subset: str) -> list[Row]:
        version = (crawl.state, crawl.links_checked, crawl.finished_at)
        key = (crawl.id, subset)
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit and (hit[0] == version or (crawl.state == "running" and now - hit[1] < LIVE_TTL)):
                self._data.move_to_end(key)
                return hit[2]
        rows = load_rows(store, crawl.id, subset)
        with self._lock:
            self._data[key] = (version, now, rows)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return rows


CACHE = RowCache()


def load_rows(store: CrawlStore, crawl_id: str, subset: str) -> list[Row]:
    r, k = store.r, store.keys
    if subset == "all":
        return [_row(url, raw) for url, raw in r.hscan_iter(k.urls(crawl_id), count=10_000) if raw]
    members = list(r.smembers(k.problems(crawl_id) if subset == "problems" else k.redirects(crawl_id)))
    if not members:
        return []
    rows: list[Row] = []
    pipe = r.pipeline(transaction=False)
    for start in range(0, len(members), 5000):
        pipe.hmget(k.urls(crawl_id), members[start:start + 5000])
    raws = [raw for chunk in pipe.execute() for raw in chunk]
    rows = [_row(url, raw) for url, raw in zip(members, raws, strict=True) if raw]
    if subset == "problems":
        pipe = r.pipeline(transaction=False)
        for row in rows:
            pipe.llen(k.refs(crawl_id, row.url))
        for row, n in zip(rows, pipe.execute(), strict=True):
            row.referrer_count = int(n)
    return rows


def _matches(row: Row, q: Query, needle: str) -> bool:
    if (q.scope == "internal" and row.external) or (q.scope == "external" and not row.external):
        return False
    if q.cls and row.status_class != q.cls:
        return False
    return not needle or needle in row.url.lower() or needle in row.status_text.lower()


def _sort_key(sort: str) -> Any:
    if sort == "status":
        return lambda row: (row.status is None, row.status or 0, row.error or "", row.url)
    if sort == "referrers":
        return lambda row: (row.referrer_count, row.url)
    return lambda row: row.url


def run(store: CrawlStore, crawl: Crawl, q: Query, cache: RowCache = CACHE) -> Page:
    subset = {"dead": "problems", "other": "problems", "redirects": "redirects", "all": "all"}[q.view]
    rows = cache.rows(store, crawl, subset)
    wanted = {"dead": ("dead",), "other": OTHER_OUTCOMES}.get(q.view)
    needle = q.q.lower()
    found = [row for row in rows if (wanted is None or row.outcome in wanted) and _matches(row, q, needle)]
    found.sort(key=_sort_key(q.sort), reverse=q.desc)
    start = (q.page - 1) * q.per_page
    shown = [Row(row.url, row.outcome, row.status, row.error, row.external, row.final_url, row.hops,
                 row.referrer_count) for row in found[start:start + q.per_page]]
    if q.view != "all" and q.view != "redirects":
        attach_referrers(store, crawl.id, shown, INLINE_REFERRERS)
    return Page(shown, len(found), q)


def attach_referrers(store: CrawlStore, crawl_id: str, rows: list[Row], limit: int | None) -> None:
    if not rows:
        return
    pipe = store.r.pipeline(transaction=False)
    for row in rows:
        key = store.keys.refs(crawl_id, row.url)
        pipe.llen(key)
        pipe.lrange(key, 0, -1 if limit is None else limit - 1)
    replies = pipe.execute()
    for i, row in enumerate(rows):
        row.referrer_count = int(replies[2 * i])
        row.referrers = [Referrer(*json.loads(raw)) for raw in replies[2 * i + 1]]
