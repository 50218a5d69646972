"""Report queries: filter, sort and paginate a crawl's checked links, fast at 100k of them.

Each view reads only the urls it needs: the problem set for "dead" and "other", the redirect set for
"redirects", everything for "all". They become compact records (lists of strings, sorted by url) kept
in a small per-process cache; ``Row`` objects are built only for the page shown. For "all" of an ended
crawl, the records come from a pre-computed index in Redis (``keys.report_index``: one string, one GET),
built on first use by whichever worker needs it. A running crawl's records are refreshed at most every
``LIVE_TTL`` seconds. Referrers are read only for the rows on the page shown.
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


# A record: [url, outcome, status, error, external "1" or "", hops, final url, referrer count], all strings.
Record = list[str]
URL, OUTCOME, STATUS, ERROR, EXTERNAL, HOPS, FINAL, REFS = range(8)


def _clean(text: str | None) -> str:
    return (text or "").replace("\t", "%09").replace("\n", "%0A")


def _record(url: str, raw: str) -> Record:
    d = json.loads(raw)
    status = d.get("s")
    return [_clean(url), d["o"], "" if status is None else str(status), _clean(d.get("e")),
            "1" if d.get("x") else "", str(len(d.get("r") or ())), _clean(d.get("f")), "0"]


def _row(url: str, raw: str) -> Row:
    return to_row(_record(url, raw))


def to_row(rec: Record) -> Row:
    return Row(rec[URL], rec[OUTCOME], int(rec[STATUS]) if rec[STATUS] else None, rec[ERROR] or None,
               rec[EXTERNAL] == "1", rec[FINAL] or None, int(rec[HOPS]), int(rec[REFS]))


def record_class(rec: Record) -> str:
    status = rec[STATUS]
    return "error" if not status else f"{min(max(int(status[0]), 2), 5)}xx"


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
        self._data: OrderedDict[tuple[str, str], tuple[tuple[Any, ...], float, list[Record]]] = OrderedDict()
        self._lock = threading.Lock()

    def records(self, store: CrawlStore, crawl: Crawl, subset: str) -> list[Record]:
        version = (crawl.state, crawl.links_checked, crawl.finished_at)
        key = (crawl.id, subset)
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit and (hit[0] == version or (crawl.state == "running" and now - hit[1] < LIVE_TTL)):
                self._data.move_to_end(key)
                return hit[2]
        rows = load_records(store, crawl, subset)
        with self._lock:
            self._data[key] = (version, now, rows)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return rows


CACHE = RowCache()


def encode_index(version: int, records: list[Record]) -> str:
    return "\n".join([f"v{version}", *("\t".join(rec) for rec in records)])


def decode_index(blob: str, version: int) -> list[Record] | None:
    """The records of an index blob, or None when it was built for another version of the crawl."""
    lines = blob.split("\n")
    if lines[0] != f"v{version}":
        return None
    return [line.split("\t") for line in lines[1:]]


def _scan_all(store: CrawlStore, crawl_id: str) -> list[Record]:
    recs = [_record(url, raw) for url, raw in store.r.hscan_iter(store.keys.urls(crawl_id), count=10_000) if raw]
    recs.sort(key=lambda rec: rec[URL])
    return recs


def load_all(store: CrawlStore, crawl: Crawl) -> list[Record]:
    """Every checked url, sorted by url. An ended crawl's records come from its index (built here on first
    use, one GET afterwards); a running crawl's are scanned."""
    if crawl.state in ("queued", "running"):
        return _scan_all(store, crawl.id)
    key = store.keys.report_index(crawl.id)
    blob = store.r.get(key)
    recs = decode_index(blob, crawl.links_checked) if blob else None
    if recs is None:
        recs = _scan_all(store, crawl.id)
        pipe = store.r.pipeline(transaction=True)
        pipe.exists(store.keys.crawl(crawl.id))
        pipe.set(key, encode_index(crawl.links_checked, recs))
        exists, _ = pipe.execute()
        if not exists:  # deleted meanwhile: leave nothing behind
            store.r.delete(key)
    return recs


def load_records(store: CrawlStore, crawl: Crawl, subset: str) -> list[Record]:
    r, k, crawl_id = store.r, store.keys, crawl.id
    if subset == "all":
        return load_all(store, crawl)
    members = sorted(r.smembers(k.redirects(crawl_id) if subset == "redirects" else k.problems(crawl_id)))
    if not members:
        return []
    pipe = r.pipeline(transaction=False)
    for start in range(0, len(members), 5000):
        pipe.hmget(k.urls(crawl_id), members[start:start + 5000])
    raws = [raw for chunk in pipe.execute() for raw in chunk]
    recs = [_record(url, raw) for url, raw in zip(members, raws, strict=True) if raw]
    if subset == "problems+refs":  # only sorting by referrers needs every count
        pipe = r.pipeline(transaction=False)
        for url, raw in zip(members, raws, strict=True):
            if raw:
                pipe.llen(k.refs(crawl_id, url))
        for rec, n in zip(recs, pipe.execute(), strict=True):
            rec[REFS] = str(n)
    return recs


def _filter(recs: list[Record], q: Query) -> list[Record]:
    wanted = {"dead": ("dead",), "other": OTHER_OUTCOMES}.get(q.view)
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


def run(store: CrawlStore, crawl: Crawl, q: Query, cache: RowCache = CACHE) -> Page:
    subset = {"dead": "problems", "other": "problems", "redirects": "redirects", "all": "all"}[q.view]
    if subset == "problems" and q.sort == "referrers":
        subset = "problems+refs"
    found = _filter(cache.records(store, crawl, subset), q)
    if q.sort == "url":  # the records are sorted by url already
        if q.desc:
            found.reverse()
    else:
        found.sort(key=_sort_key(q.sort), reverse=q.desc)
    start = (q.page - 1) * q.per_page
    shown = [to_row(rec) for rec in found[start:start + q.per_page]]
    if q.view in ("dead", "other"):
        attach_referrers(store, crawl.id, shown, INLINE_REFERRERS)
    return Page(shown, len(found), q)


def attach_referrers(store: CrawlStore, crawl_id: str, rows: list[Row], limit: int | None) -> None:
    for row, (count, refs) in zip(rows, store.referrers(crawl_id, [r.url for r in rows], limit), strict=True):
        row.referrer_count, row.referrers = count, refs
