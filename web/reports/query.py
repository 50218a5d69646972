"""Report queries: filter, sort and paginate a crawl's checked links, fast at 100k of them.

Each view reads only the urls it needs (``CrawlStore.report_records``): the problem set for "dead" and
"other", the redirect set for "redirects", everything for "all" (an ended crawl's from its report
index: one GET). The compact records (``wire.ReportRecord``, ``linkpatrol.store.report_index``) are kept
in a small per-process cache; the rows shown are copies of them, given their referrers. A running crawl's
records are refreshed at most every ``LIVE_TTL`` seconds. Referrers are read only for the rows on the
page shown, except by page.

The site's accepted links (``linkpatrol.reports.accepted``: ``run``'s ``accepted``, the crawl's accepted problem
urls) leave the problem views and make a view of their own. The problem views can be shown by link (a
target, the pages linking to it) or by page (``by=page``: each page holding problems, the line of each
link in its source: ``linkpatrol.reports.by_page``), paginated by page; that needs every kept referrer of the
problems, read once per crawl version in batches and cached like the records.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from linkpatrol.model.records import Crawl, CrawlState
from linkpatrol.model.verdicts import OTHER_LABEL, STATUS_CLASSES
from linkpatrol.model.wire import Referrer, ReportRecord
from linkpatrol.reports.by_page import Place, by_page
from linkpatrol.reports.results import GROUPS
from linkpatrol.store.crawls import CrawlStore
from web.params import whole_number

VIEWS = {
    "dead": "Dead links",
    "anchors": "Missing anchors",
    "other": OTHER_LABEL,
    "accepted": "Accepted",
    "redirects": "Redirects",
    "orphans": "Orphan pages",
    "all": "All checked links",
}
# The outcomes each view lists (None: any): the groups its tab's count sums (``results.GROUPS``).
VIEW_OUTCOMES: dict[str, tuple[str, ...] | None] = {
    "dead": GROUPS["dead"], "anchors": GROUPS["anchors"], "other": GROUPS["other"], "accepted": None,
    "redirects": None, "orphans": None, "all": None,
}
PROBLEM_VIEWS = ("dead", "anchors", "other", "accepted")  # the views that list problems, with their referrers
BYS = ("link", "page")  # how a problem view lists: by link (the default) or by page
SCOPES = ("all", "internal", "external")
SORTS = ("url", "status", "referrers")
LIVE_TTL = 2.0
CACHE_SIZE = 8
INLINE_REFERRERS = 20
REFERRER_BATCH = 1000  # problem urls whose referrers one pipeline reads, by page
PLACES_PER_LINK = 200  # by page: the pages of one link read (the link's own page lists them all)


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
    by: str = "link"  # BYS; "page" only in a problem view

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
            by=pick("by", BYS, "link") if args.get("view", "dead") in PROBLEM_VIEWS else "link",
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """URL parameters for this query with some changed (for links to other pages and sorts)."""
        out = {"view": self.view, "scope": self.scope, "cls": self.cls, "q": self.q, "sort": self.sort,
               "dir": "desc" if self.desc else "asc", "page": self.page, "per_page": self.per_page,
               "by": self.by}
        out.update(changes)
        if out["by"] == "link" or out["view"] not in PROBLEM_VIEWS:
            del out["by"]
        return {k: v for k, v in out.items() if v not in ("", None)}

    @property
    def by_page(self) -> bool:
        return self.by == "page" and self.view in PROBLEM_VIEWS


@dataclass
class Page:
    rows: list[ReportRecord]  # copies of the records shown, with their referrers
    total: int  # rows; by page: pages of the site holding problems
    query: Query
    groups: list[tuple[str, list[Place]]] = field(default_factory=list)  # by page: the pages shown
    links: int = 0  # by page: the problem links on every page
    unlisted: int = 0  # by page: places past PLACES_PER_LINK (or the referrers kept) of their link

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


class RecordCache:
    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._data: OrderedDict[tuple[str, str], tuple[tuple[Any, ...], float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def records(self, store: CrawlStore, crawl: Crawl, subset: str) -> list[ReportRecord]:
        recs: list[ReportRecord] = self.cached(crawl, subset, lambda: store.report_records(crawl, subset))
        return recs

    def cached(self, crawl: Crawl, name: str, load: Callable[[], Any]) -> Any:
        """What ``load`` gives for the crawl, kept while the crawl does not change (a running one's for
        ``LIVE_TTL`` seconds)."""
        version = (crawl.state, crawl.links_checked, crawl.finished_at)
        key = (crawl.id, name)
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit and (hit[0] == version or (crawl.state == CrawlState.RUNNING and now - hit[1] < LIVE_TTL)):
                self._data.move_to_end(key)
                return hit[2]
        value = load()
        with self._lock:
            self._data[key] = (version, now, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value


CACHE = RecordCache()


def _filter(recs: list[ReportRecord], q: Query, accepted: frozenset[str] = frozenset()) -> list[ReportRecord]:
    wanted = VIEW_OUTCOMES[q.view]
    external = {"internal": False, "external": True}.get(q.scope)
    needle = q.q.lower()
    # The accepted links leave the problem views for their own; "all" and "redirects" keep everything.
    keep: Callable[[str], bool] = (
        (lambda url: url in accepted) if q.view == "accepted"
        else (lambda url: url not in accepted) if q.view in PROBLEM_VIEWS and accepted
        else (lambda url: True))
    return [
        rec for rec in recs
        if (wanted is None or rec.outcome in wanted)
        and keep(rec.url)
        and (external is None or rec.external == external)
        and (not q.cls or rec.status_class == q.cls)
        and (not needle or needle in rec.url.lower()
             or needle in (str(rec.status) if rec.status is not None else rec.error or "").lower())
    ]


def _sort_key(sort: str) -> Any:
    if sort == "status":
        return lambda rec: (rec.status is None, rec.status or 0, rec.error or "", rec.url)
    return lambda rec: (rec.referrer_count, rec.url)


def run(store: CrawlStore, crawl: Crawl, q: Query, cache: RecordCache = CACHE,
        accepted: frozenset[str] = frozenset()) -> Page:
    """The page of ``q``; ``accepted``: the crawl's accepted problem urls (``InCrawl.urls``)."""
    subset = "problems" if q.view in PROBLEM_VIEWS else q.view
    if subset == "problems" and q.sort == "referrers" and not q.by_page:
        subset = "problems+refs"
    found = _filter(cache.records(store, crawl, subset), q, accepted)
    if q.by_page:
        return _by_page(store, crawl, q, found, cache)
    if q.sort == "url":  # the records are sorted by url already
        if q.desc:
            found.reverse()
    else:
        found.sort(key=_sort_key(q.sort), reverse=q.desc)
    start = (q.page - 1) * q.per_page
    shown = [replace(rec) for rec in found[start:start + q.per_page]]  # the cached records stay as they are
    if q.view in PROBLEM_VIEWS:
        attach_referrers(store, crawl.id, shown, INLINE_REFERRERS)
    return Page(shown, len(found), q)


def _by_page(store: CrawlStore, crawl: Crawl, q: Query, found: list[ReportRecord], cache: RecordCache) -> Page:
    """The pages holding ``found``'s links, the links on each in the order of its source, paginated by page."""
    referrers = problem_referrers(store, crawl, cache)
    results = []
    for rec in found:
        res = rec.to_result()
        res.referrer_count, res.referrers = referrers.get(rec.url, (0, []))
        results.append(res)
    groups = by_page(results)
    if q.desc:
        groups.reverse()
    start = (q.page - 1) * q.per_page
    unlisted = sum(max(0, res.referrer_count - len(res.referrers)) for res in results)
    return Page([], len(groups), q, groups[start:start + q.per_page], sum(len(places) for _, places in groups),
                unlisted)


def problem_referrers(store: CrawlStore, crawl: Crawl, cache: RecordCache = CACHE
                      ) -> dict[str, tuple[int, list[Referrer]]]:
    """For every problem of the crawl, its true referrer count and its first ``PLACES_PER_LINK`` kept
    referrers, read once per crawl version, ``REFERRER_BATCH`` urls a round trip."""
    def load() -> dict[str, tuple[int, list[Referrer]]]:
        urls = [rec.url for rec in cache.records(store, crawl, "problems")]
        out: dict[str, tuple[int, list[Referrer]]] = {}
        for start in range(0, len(urls), REFERRER_BATCH):
            chunk = urls[start:start + REFERRER_BATCH]
            out.update(zip(chunk, store.referrers(crawl.id, chunk, PLACES_PER_LINK), strict=True))
        return out

    found: dict[str, tuple[int, list[Referrer]]] = cache.cached(crawl, "referrers", load)
    return found


def attach_referrers(store: CrawlStore, crawl_id: str, rows: list[ReportRecord], limit: int | None) -> None:
    for row, (count, refs) in zip(rows, store.referrers(crawl_id, [r.url for r in rows], limit), strict=True):
        row.referrer_count, row.referrers = count, refs
