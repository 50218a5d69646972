"""Temporary (helper E): reproduce the later.html#gone race and dump what happened."""
from __future__ import annotations

from tests.crawler.test_page_contents import anchor_site  # noqa: F401
from tests.support.processes import crawl_to_end
from tests.support.sites import anchors


def test_repro(store, crawlers, anchor_site, tmp_path) -> None:  # noqa: F811
    proc = crawlers()
    crawl = crawl_to_end(store, anchor_site.url("main"))
    m = anchor_site.url("main", "")
    found = {r.url for r in store.problems(crawl.id, ("missing_anchor",))}
    want = {m + url for url in anchors.MISSING}
    if found != want:
        later = store.result(crawl.id, f"{m}/later.html")
        chain = store.result(crawl.id, f"{m}/chain.html")
        print("MISSING DIFF", want - found, found - want)
        print("LATER", later)
        print("CHAIN", chain)
        print("ANCHORS later", store.r.hget(f"lp:crawl:{crawl.id}:anchors", f"{m}/later.html"))
        print("COUNTERS", crawl.counters)
        print(proc.output()[-20000:])
    assert found == want
