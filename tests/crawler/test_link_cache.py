"""The shared link cache (tests/support/sites/link_cache.py): a link to another site that a crawl found
ok is not requested again by the next crawls while its entry lives; failures always are."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.records import Crawl
from linkpatrol.model.wire import CachedCheck
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, crawl_to_end
from tests.support.sites import link_cache

Factory = Callable[..., CrawlerProcess]


@pytest.fixture(scope="module")
def cache_site() -> Iterator[SiteServer]:
    server = SiteServer("link_cache")
    yield server
    server.stop()


def crawl_requests(store: CrawlStore, site: SiteServer, options: CrawlOptions | None = None,
                   ) -> tuple[Crawl, Counter[str]]:
    """Crawl the site to its end; the crawl and the requests it made of site ``ext`` (path -> count;
    robots.txt, read once per crawl, left out)."""
    before = len(site.log("ext")["log"])
    crawl = crawl_to_end(store, site.url("main"), options)
    return crawl, Counter(entry[2] for entry in site.log("ext")["log"][before:] if entry[2] != "/robots.txt")


def outcomes(store: CrawlStore, crawl: Crawl) -> dict[str, tuple[str, int | None, str | None]]:
    results = {r.url: r for r in store.iter_results(crawl.id)}
    return {r.url: (r.outcome, r.status, r.final_url) for r in results.values() if r.external}


def test_a_link_found_ok_is_not_requested_again_and_failures_always_are(
        store: CrawlStore, crawlers: Factory, cache_site: SiteServer) -> None:
    crawlers()
    first, asked = crawl_requests(store, cache_site)
    assert set(asked) == {*link_cache.OK, *link_cache.NOT_CACHED}
    second, asked = crawl_requests(store, cache_site)
    assert set(asked) == set(link_cache.NOT_CACHED)  # 404, 503 and 429: checked again
    assert outcomes(store, second) == outcomes(store, first)  # the redirect's landing page included
    assert second.check_counts["cache"] == len(link_cache.OK) and first.check_counts["cache"] == 0
    assert second.dead == first.dead
    # Each result taken from the cache says where from: the crawl that found it, and when (the reports').
    cached = [res for res in store.iter_results(second.id) if res.cached is not None]
    assert len(cached) == len(link_cache.OK) and {res.cached.crawl for res in cached} == {first.id}
    assert all(first.started_at <= res.cached.at <= (second.started_at or 0) for res in cached)
    entries = [CachedCheck.decode(store.r.get(key)) for key in store.r.scan_iter("lp:linkcache:*")
               if key != "lp:linkcache:order"]
    assert {e.result.url.rsplit("/", 1)[1] for e in entries} == {p.strip("/") for p in link_cache.OK}
    assert all(e.result.outcome == "ok" and e.crawl_id == first.id for e in entries)

    fresh, asked = crawl_requests(store, cache_site, CrawlOptions(fresh=True))
    assert set(asked) == {*link_cache.OK, *link_cache.NOT_CACHED}
    assert fresh.check_counts["cache"] == 0


def test_a_stale_entry_is_checked_again(store: CrawlStore, crawlers: Factory, cache_site: SiteServer) -> None:
    crawlers({"LINKPATROL_LINK_CACHE_TTL": "1"})
    crawl_requests(store, cache_site)
    time.sleep(1.5)  # every entry expired
    again, asked = crawl_requests(store, cache_site)
    assert set(asked) == {*link_cache.OK, *link_cache.NOT_CACHED}
    assert again.check_counts["cache"] == 0


def test_an_entry_dropped_by_the_count_bound_is_checked_again(store: CrawlStore, crawlers: Factory,
                                                                cache_site: SiteServer) -> None:
    crawlers({"LINKPATROL_LINK_CACHE_MAX": "1"})
    crawl_requests(store, cache_site)
    assert store.r.zcard("lp:linkcache:order") == 1
    assert len([k for k in store.r.scan_iter("lp:linkcache:*") if k != "lp:linkcache:order"]) == 1
    again, asked = crawl_requests(store, cache_site)
    # One of the three ok links was kept; the two written before it were dropped and are asked again
    # (/moved's request also asks /ok, where it lands).
    assert again.check_counts["cache"] == 1
    assert set(asked) >= set(link_cache.NOT_CACHED) and len(set(asked) & set(link_cache.OK)) >= 2
