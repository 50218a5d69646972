"""Sitemaps and orphan pages (tests/support/sites/sitemaps.py): robots.txt's Sitemap: line, a sitemap
index with a gzipped child, /sitemap.xml when robots.txt names none."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from linkpatrol.records import CrawlOptions
from linkpatrol.store import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, crawl_to_end
from tests.support.sites import sitemaps

Factory = Callable[..., CrawlerProcess]


@pytest.fixture(scope="module")
def sitemap_site() -> Iterator[SiteServer]:
    server = SiteServer("sitemaps")
    yield server
    server.stop()




def test_orphan_pages_and_dead_sitemap_urls(store: CrawlStore, crawlers: Factory, sitemap_site: SiteServer) -> None:
    crawlers()
    crawl = crawl_to_end(store, sitemap_site.url("main"))
    m = sitemap_site.url("main", "")
    assert [r.url for r in store.orphans(crawl.id)] == [m + path for path in sitemaps.ORPHANS]
    (dead,) = store.problems(crawl.id)
    assert (dead.url, dead.status) == (m + sitemaps.DEAD, 404)
    assert {(r.page, r.element) for r in dead.referrers} == {(f"{m}/sitemap-pages.xml", "sitemap")}
    checked = {r.url for r in store.iter_results(crawl.id)}
    assert {f"{m}/sitemap-index.xml", f"{m}/sitemap-pages.xml", f"{m}/sitemap-more.xml.gz"} <= checked
    # Orphans are crawled as pages (parsed): their own links would be checked.
    assert crawl.pages_crawled >= 4


def test_sitemap_xml_when_robots_names_none(store: CrawlStore, crawlers: Factory, sitemap_site: SiteServer) -> None:
    crawlers()
    crawl = crawl_to_end(store, sitemap_site.url("plain"))
    assert [r.url for r in store.orphans(crawl.id)] == [sitemap_site.url("plain", "/lonely.html")]


def test_sitemaps_are_a_per_crawl_choice(store: CrawlStore, crawlers: Factory, sitemap_site: SiteServer) -> None:
    crawlers()
    crawl = crawl_to_end(store, sitemap_site.url("main"), CrawlOptions(sitemaps=False))
    assert store.orphans(crawl.id) == []
    checked = {r.url for r in store.iter_results(crawl.id)}
    assert sitemap_site.url("main", "/orphan.html") not in checked
