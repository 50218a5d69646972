"""Report records (``wire.ReportRecord``) of a crawl, and the report index that keeps report pages of
100k links fast.

Report pages filter, sort and paginate lists of records. "all" of an ended crawl comes from its index
(``Keys.report_index``: one string, one GET; ``wire.encode_report_index`` is its one codec), built on
first use by whichever reader needs it and rebuilt when the checked count changes, or when it was
written in another format (by an earlier version: it is a cache of the crawl's results).
"""

from __future__ import annotations

from typing import Any, Protocol

from linkpatrol.model.records import Crawl
from linkpatrol.model.wire import LinkResult, ReportRecord, decode_report_index, encode_report_index
from linkpatrol.store.keys import Keys

SUBSETS = ("problems", "problems+refs", "redirects", "orphans", "all")


class CrawlStore(Protocol):
    """What of ``linkpatrol.store.crawls.CrawlStore`` the records are read through (that module calls
    this one: no import back)."""

    r: Any
    keys: Keys

    def orphans(self, crawl_id: str) -> list[LinkResult]: ...

    def referrer_counts(self, crawl_id: str, urls: list[str]) -> list[int]: ...


def record(url: str, raw: str) -> ReportRecord:
    return ReportRecord.of(LinkResult.from_json(url, raw))


def _scan_all(store: CrawlStore, crawl_id: str) -> list[ReportRecord]:
    recs = [record(url, raw) for url, raw in store.r.hscan_iter(store.keys.urls(crawl_id), count=10_000) if raw]
    recs.sort(key=lambda rec: rec.url)
    return recs


def load_all(store: CrawlStore, crawl: Crawl) -> list[ReportRecord]:
    """Every checked url, sorted by url. An ended crawl's records come from its index (built here on
    first use, one GET afterwards); a running crawl's are scanned."""
    if crawl.is_active:
        return _scan_all(store, crawl.id)
    r, k = store.r, store.keys
    key = k.report_index(crawl.id)
    blob = r.get(key)
    recs = decode_report_index(blob, crawl.links_checked) if blob else None
    if recs is None:
        recs = _scan_all(store, crawl.id)
        pipe = r.pipeline(transaction=True)
        pipe.exists(k.crawl(crawl.id))
        pipe.set(key, encode_report_index(crawl.links_checked, recs))
        exists, _ = pipe.execute()
        if not exists:  # deleted meanwhile: leave nothing behind
            r.delete(key)
    return recs


def load_records(store: CrawlStore, crawl: Crawl, subset: str) -> list[ReportRecord]:
    """The records of one subset: "all", "redirects", "orphans", "problems", or "problems+refs"
    (problems with their referrer counts, which only sorting by referrers needs)."""
    if subset == "all":
        return load_all(store, crawl)
    if subset == "orphans":
        return [ReportRecord.of(res) for res in store.orphans(crawl.id)]
    r, k, crawl_id = store.r, store.keys, crawl.id
    members = sorted(r.smembers(k.redirects(crawl_id) if subset == "redirects" else k.problems(crawl_id)))
    if not members:
        return []
    pipe = r.pipeline(transaction=False)
    for start in range(0, len(members), 5000):
        pipe.hmget(k.urls(crawl_id), members[start:start + 5000])
    raws = [raw for chunk in pipe.execute() for raw in chunk]
    pairs = [(url, raw) for url, raw in zip(members, raws, strict=True) if raw]
    recs = [record(url, raw) for url, raw in pairs]
    if subset == "problems+refs":
        for rec, n in zip(recs, store.referrer_counts(crawl_id, [url for url, _ in pairs]), strict=True):
            rec.referrer_count = n
    return recs
