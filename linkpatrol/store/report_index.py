"""Compact report records, and the report index that keeps report pages of 100k links fast.

A record is a list of strings, ``[url, outcome, status, error, external "1" or "", hops, final url,
referrer count]``, built from the stored ``wire.LinkResult``. Report pages filter, sort and paginate
lists of them. "all" of an ended crawl comes from its index (``Keys.report_index``: one string, one
GET), built on first use by whichever reader needs it and rebuilt when the checked count changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from linkpatrol.model.records import Crawl
from linkpatrol.model.wire import LinkResult

if TYPE_CHECKING:
    from linkpatrol.store.crawls import CrawlStore

Record = list[str]
URL, OUTCOME, STATUS, ERROR, EXTERNAL, HOPS, FINAL, REFS = range(8)
SUBSETS = ("problems", "problems+refs", "redirects", "orphans", "all")


def _clean(text: str | None) -> str:
    return (text or "").replace("\t", "%09").replace("\n", "%0A")


def to_record(res: LinkResult) -> Record:
    status = "" if res.status is None else str(res.status)
    return [_clean(res.url), str(res.outcome), status, _clean(res.error), "1" if res.external else "",
            str(len(res.redirects)), _clean(res.final_url), "0"]


def record(url: str, raw: str) -> Record:
    return to_record(LinkResult.from_json(url, raw))


def encode_index(version: int, records: list[Record]) -> str:
    return "\n".join([f"v{version}", *("\t".join(rec) for rec in records)])


def decode_index(blob: str, version: int) -> list[Record] | None:
    """The records of an index blob, or None when it was built for another version of the crawl."""
    lines = blob.split("\n")
    if lines[0] != f"v{version}":
        return None
    return [line.split("\t") for line in lines[1:]]


def _scan_all(store: CrawlStore, crawl_id: str) -> list[Record]:
    recs = [record(url, raw) for url, raw in store.r.hscan_iter(store.keys.urls(crawl_id), count=10_000) if raw]
    recs.sort(key=lambda rec: rec[URL])
    return recs


def load_all(store: CrawlStore, crawl: Crawl) -> list[Record]:
    """Every checked url, sorted by url. An ended crawl's records come from its index (built here on
    first use, one GET afterwards); a running crawl's are scanned."""
    if crawl.is_active:
        return _scan_all(store, crawl.id)
    r, k = store.r, store.keys
    key = k.report_index(crawl.id)
    blob = r.get(key)
    recs = decode_index(blob, crawl.links_checked) if blob else None
    if recs is None:
        recs = _scan_all(store, crawl.id)
        pipe = r.pipeline(transaction=True)
        pipe.exists(k.crawl(crawl.id))
        pipe.set(key, encode_index(crawl.links_checked, recs))
        exists, _ = pipe.execute()
        if not exists:  # deleted meanwhile: leave nothing behind
            r.delete(key)
    return recs


def load_records(store: CrawlStore, crawl: Crawl, subset: str) -> list[Record]:
    """The records of one subset: "all", "redirects", "orphans", "problems", or "problems+refs"
    (problems with their referrer counts, which only sorting by referrers needs)."""
    if subset == "all":
        return load_all(store, crawl)
    if subset == "orphans":
        return [to_record(res) for res in store.orphans(crawl.id)]
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
            rec[REFS] = str(n)
    return recs
