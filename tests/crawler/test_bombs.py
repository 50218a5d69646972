"""Compression bombs (``tests.support.sites.bombs``: 1 GB of zeros, 2 kB to 1 MB on the wire) against a
real crawler process: every one is a ``too-large`` warning, the crawl ends, and the crawler's memory
stays bounded. Before the cap counted decoded bytes, one gzip bomb took a crawler to 5.4 GB."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import psutil
import pytest

from linkpatrol.model.records import Crawl
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_for
from tests.support.sites import bombs, near_cap

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


@pytest.fixture(scope="module")
def sitemap_bombs() -> Iterator[SiteServer]:
    server = SiteServer("sitemap_bombs")
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


def test_a_gzipped_sitemap_bomb_is_too_large(store: CrawlStore, crawlers: Factory,
                                            sitemap_bombs: SiteServer) -> None:
    # A .xml.gz sitemap is gzip without a Content-Encoding: the sitemap reader decodes it, to the same cap.
    crawler = crawlers()
    crawl, peak = crawl_watching_rss(store, crawler, sitemap_bombs.url("gz"))
    assert crawl.state == "finished"
    sitemap = store.result(crawl.id, sitemap_bombs.url("gz", "/sitemap.xml.gz"))
    assert sitemap is not None and (sitemap.outcome, sitemap.error) == ("warning", "too-large"), sitemap
    ok = store.result(crawl.id, sitemap_bombs.url("gz", "/ok.html"))
    assert ok is not None and (ok.outcome, ok.status) == ("ok", 200)
    assert peak < RSS_BOUND, f"crawler peak RSS {peak / MB:.0f} MB"
    assert "Traceback" not in crawler.output()


def test_a_sitemap_xml_bomb_found_by_the_probe_is_no_sitemap(store: CrawlStore, crawlers: Factory,
                                                            sitemap_bombs: SiteServer) -> None:
    crawler = crawlers()
    crawl, _ = crawl_watching_rss(store, crawler, sitemap_bombs.url("probe"))
    assert crawl.state == "finished"
    ok = store.result(crawl.id, sitemap_bombs.url("probe", "/ok.html"))
    assert ok is not None and (ok.outcome, ok.status) == ("ok", 200)
    assert store.result(crawl.id, sitemap_bombs.url("probe", "/sitemap.xml")) is None
    output = crawler.output()
    assert "Traceback" not in output
    assert len([line for line in output.splitlines() if "/sitemap.xml" in line and "WARNING" in line]) == 1


@pytest.fixture(scope="module")
def near_cap_site() -> Iterator[SiteServer]:
    server = SiteServer("near_cap", "12", "3")  # 12 pages of 3 MB
    yield server
    server.stop()


@pytest.mark.parametrize("name", ["gzip", "plain"])
def test_pages_larger_than_the_parse_budget_are_parsed_one_at_a_time(
        store: CrawlStore, crawlers: Factory, near_cap_site: SiteServer, name: str) -> None:
    # A 2 MB budget: every 3 MB page (a gzip one holds the 4 MB cap while it is decoded) waits until
    # nothing else is held, then goes alone. A hold never given back would stall the crawl.
    crawler = crawlers({"LINKPATROL_MAX_PAGE_SIZE": "4", "LINKPATROL_PARSE_BUDGET_MB": "2"})
    crawl, _ = crawl_watching_rss(store, crawler, near_cap_site.url(name))
    assert crawl.state == "finished"
    results = {r.url: (r.outcome, r.status) for r in store.iter_results(crawl.id)}
    assert results == {near_cap_site.url(name, path): ("ok", 200) for path in ["/", *near_cap.paths(12)]}
    assert crawl.pages_crawled == 13
    crawler.stop()  # Scrapy logs its stats as it closes
    output = crawler.output()
    assert "Traceback" not in output
    stats = dict(re.findall(r"'linkpatrol/parse_budget/(\w+)': (\d+)", output))
    assert int(stats["waited"]) >= 1  # pages waited their turn
    assert int(stats["peak_bytes"]) <= 4 * MB  # never two at once: one held the cap at most
