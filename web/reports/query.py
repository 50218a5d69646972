"""Report queries: filter, sort and paginate a crawl's checked links, fast at 100k of them.

Each view reads only the urls it needs (``CrawlStore.report_records``): the problem set for "dead" and
"other", the redirect set for "redirects", everything for "all" (an ended crawl's from its report
index: one GET). The compact records (``linkpatrol.report_index``) are kept in a small per-process
cache; ``Row`` objects are built only for the page shown. A running crawl's records are refreshed at
most every ``LIVE_TTL`` seconds. Referrers are read only for the rows on the page shown.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from linkpatrol.records import Crawl, CrawlState
from linkpatrol.report_index import ERROR, EXTERNAL, FINAL, HOPS, OUTCOME, REFS, STATUS, URL, Record
from linkpatrol.store import CrawlStore
from linkpatrol.verdicts import OTHER_LABEL, OTHER_OUTCOMES, STATUS_CLASSES, Outcome, status_class
from linkpatrol.wire import LinkResult, Referrer
from web.params import whole_number

VIEWS = {
    "dead": "Dead links",
    "anchors": "Missing anchors",
    "other": OTHER_LABEL,
    "redirects": "Redirects",
    "orphans": "Orphan pages",
    "all": "All checked links",
}
# The outcomes each view lists (None: any).
VIEW_OUTCOMES: dict[str, tuple[str, ...] | None] = {
    "dead": (Outcome.DEAD,), "anchors": (Outcome.MISSING_ANCHOR,), "other": OTHER_OUTCOMES, "redirects": None,
    "orphans": None, "all": None,
}
SCOPES = ("all", "internal", "external")
SORTS = ("url", "status", "referrers")
LIVE_TTL = 2.0
CACHE_SIZE = 6
INLINE_REFERRERS = 20


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

    @classmethod
    def from_record(cls, rec: Record) -> Row:
        return cls(rec[URL], rec[OUTCOME], int(rec[STATUS]) if rec[STATUS] else None, rec[ERROR] or None,
                   rec[EXTERNAL] == "1", rec[FINAL] or None, int(rec[HOPS]), int(rec[REFS]))

    @classmethod
    def from_result(cls, res: LinkResult) -> Row:
        return cls(res.url, res.outcome, res.status, res.error, res.external, res.final_url, len(res.redirects),
                   res.referrer_count, res.referrers)


def record_class(rec: Record) -> str:
    return status_class(int(rec[STATUS]) if rec[STATUS] else None)


class BadQuery(ValueError):
    """A report's query string holds a value that is not one (the view answers 400)."""


@dataclass
class Query:
    view: str = "dead"
    scope: str = "all"  # all, internal, external
    cls: str = ""  # one of STATUS_CLASSES or "" for any
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
            if not raw:
                return default
            number = whole_number(raw)  # "²" and 5,000-digit strings are not numbers: a 400
            if number is None:
                raise BadQuery(f"{name} must be a whole number from 1 to {top}")
            return min(number, top)

        return cls(
            view=pick("view", VIEWS, "dead"),
            scope=pick("scope", SCOPES, "all"),
            cls=pick("cls", STATUS_CLASSES, ""),
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


class RecordCache:
    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._data: OrderedDict[tuple[str, str], tuple[tuple[Any, ...], float, list[Record]]] = OrderedDict()
        self._lock = threading.Lock()

    def records(self, store: CrawlStore, crawl: Crawl, subset: str) -> list[Record]:
        version = (crawl.state, crawl.links_checked, crawl.finished_at)
        key = (crawl.id, subset)
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit and (hit[0] == version or (crawl.state == CrawlState.RUNNING and now - hit[1] < LIVE_TTL)):
                self._data.move_to_end(key)
                return hit[2]
        recs = store.report_records(crawl, subset)
        with self._lock:
            self._data[key] = (version, now, recs)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return recs


CACHE = RecordCache()


def _filter(recs: list[Record], q: Query) -> list[Record]:
    wanted = VIEW_OUTCOMES[q.view]
    external = {"internal": "", "external": "1"}.get(q.scope)
    needle = q.q.lower()
    return [
        rec for rec in recs
        if (wanted is None or rec[OUTCOME] in wanted)
        and (external is None or rec[EXTERNAL] == external)
        and (not q.cls or record_class(rec) == q.cls)
        and (not needle or needle in rec[URL].lower() or needle in (rec[STATUS] or rec[ERROR]).lower())
    ]


def _sort_key(sort: str) -> Any:
    if sort == "status":
        return lambda rec: (not rec[STATUS], int(rec[STATUS] or 0), rec[ERROR], rec[URL])
    return lambda rec: (int(rec[REFS]), rec[URL])


def run(store: CrawlStore, crawl: Crawl, q: Query, cache: RecordCache = CACHE) -> Page:
    subset = {"dead": "problems", "anchors": "problems", "other": "problems", "redirects": "redirects",
              "orphans": "orphans", "all": "all"}[q.view]
    if subset == "problems" and q.sort == "referrers":
        subset = "problems+refs"
    found = _filter(cache.records(store, crawl, subset), q)
    if q.sort == "url":  # the records are sorted by url already
        if q.desc:
            found.reverse()
    else:
        found.sort(key=_sort_key(q.sort), reverse=q.desc)
    start = (q.page - 1) * q.per_page
    shown = [Row.from_record(rec) for rec in found[start:start + q.per_page]]
    if q.view in ("dead", "anchors", "other"):
        attach_referrers(store, crawl.id, shown, INLINE_REFERRERS)
    return Page(shown, len(found), q)


def attach_referrers(store: CrawlStore, crawl_id: str, rows: list[Row], limit: int | None) -> None:
    for row, (count, refs) in zip(rows, store.referrers(crawl_id, [r.url for r in rows], limit), strict=True):
        row.referrer_count, row.referrers = count, refs
