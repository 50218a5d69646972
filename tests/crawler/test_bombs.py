"""Compression bombs (``tests.support.sites.bombs``: 1 GB of zeros, 2 kB to 1 MB on the wire) against a
real crawler process: every one is a ``too-large`` warning, the crawl ends, and the crawler's memory
stays bounded. Before the cap counted decoded bytes, one gzip bomb took a crawler to 5.4 GB."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psutil
import pytest

from linkpatrol.records import Crawl
from linkpatrol.store import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_for
from tests.support.sites import bombs

Factory = Callable[..., CrawlerProcess]
MB = 1 << 20
# A crawler holds about 90 MB; one answer decoded to the 32 MB cap adds it at most twice (Scrapy's
# decoder keeps a buffer and copies it). The goal is under 300 MB.
RSS_BOUND = 300 * MB


@pytest.fixture(scope="module")
def bomb_site() -> Iterator[SiteServer]:
    server = SiteServer("bombs")
    yield server
    server.stop()


def crawl_watching_rss(store: CrawlStore, crawler: CrawlerProcess, url: str) -> tuple[Crawl, int]:
    """Crawl ``url`` to its end; the crawl's record and the crawler's peak RSS meanwhile (sampled)."""
    wait_for(lambda: store.r.hlen("lp:workers") >= 1, 60, what="the crawler to register")
    proc = psutil.Process(crawler.pid)
    crawl_id = store.create(url).id
    peak = 0
    deadline = time.monotonic() + 120
    while store.require(crawl_id).state not in ("finished", "cancelled"):
        assert time.monotonic() < deadline, "the crawl did not end"
        peak = max(peak, proc.memory_info().rss)
        time.sleep(0.01)
    return store.require(crawl_id), peak


def test_every_bomb_is_too_large_and_the_crawler_stays_small(store: CrawlStore, crawlers: Factory,
                                                               bomb_site: SiteServer) -> None:
    crawler = crawlers()
    crawl, peak = crawl_watching_rss(store, crawler, bomb_site.url("main"))
    assert crawl.state == "finished"
    m = bomb_site.url("main", "")
    for path in bombs.TOO_LARGE:
        result = store.result(crawl.id, m + path)
        assert result is not None and (result.outcome, result.error) == ("warning", "too-large"), (path, result)
    ok = store.result(crawl.id, f"{m}/ok.html")
    assert ok is not None and (ok.outcome, ok.status) == ("ok", 200)
    assert crawl.counters["error_too-large"] == len(bombs.TOO_LARGE)
    assert peak < RSS_BOUND, f"crawler peak RSS {peak / MB:.0f} MB"
    assert "Traceback" not in crawler.output()


def test_a_robots_txt_bomb_is_no_robots_txt(store: CrawlStore, crawlers: Factory, bomb_site: SiteServer) -> None:
    # robots.txt is fetched by Scrapy's robots middleware, for no crawl: the crawler's default cap applies.
    crawler = crawlers()
    crawl, peak = crawl_watching_rss(store, crawler, bomb_site.url("robots"))
    assert crawl.state == "finished"
    ok = store.result(crawl.id, bomb_site.url("robots", "/ok.html"))
    assert ok is not None and (ok.outcome, ok.status) == ("ok", 200)  # robots.txt unreadable: all allowed
    assert peak < RSS_BOUND, f"crawler peak RSS {peak / MB:.0f} MB"
