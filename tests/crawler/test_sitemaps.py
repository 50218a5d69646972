"""Sitemaps and orphan pages (tests/support/sites/sitemaps.py): robots.txt's Sitemap: line, a sitemap
index with a gzipped child, /sitemap.xml when robots.txt names none."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator

import pytest

from crawler.sitemaps import NotASitemap, SitemapTooLarge, looks_like_sitemap, read_sitemap
from linkpatrol.model.options import CrawlOptions
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, crawl_to_end
from tests.support.sites import sitemaps

Factory = Callable[..., CrawlerProcess]
MB = 1 << 20
CAP = 32 * MB  # the crawl's size cap (max_page_size)


@pytest.fixture(scope="module")
def sitemap_site() -> Iterator[SiteServer]:
    server = SiteServer("sitemaps")
    yield server
    server.stop()


URLSET = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
NOT_SITEMAPS = {
    "html": b'<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body>generic</body></html>',
    "empty": b"",
    "random bytes": bytes(range(256)) * 16,
    "truncated gzip": gzip.compress(URLSET + b"<url><loc>/a</loc></url></urlset>")[:40],
    "gzip bomb": gzip.compress(b"\0" * (40 * MB)),
    "another XML": b"<?xml version='1.0'?><rss><channel><link>http://x.example/</link></channel></rss>",
}


@pytest.mark.parametrize("body", NOT_SITEMAPS.values(), ids=NOT_SITEMAPS.keys())
def test_a_sitemap_that_is_not_one_raises_not_a_sitemap(body: bytes) -> None:
    with pytest.raises(NotASitemap):
        read_sitemap(body, "http://x.example/sitemap.xml", max_size=CAP)


def test_a_sitemap_cut_short_gives_what_came_before_the_cut() -> None:
    cut = URLSET + b"<url><loc>http://x.example/a</loc></url><url><lo"
    assert read_sitemap(cut, "http://x.example/sitemap.xml", max_size=CAP) == ([("http://x.example/a", False)], 0)


def test_a_gzipped_sitemap_is_decoded_up_to_the_crawls_cap() -> None:
    entries = b"".join(b"<url><loc>http://x.example/%d</loc></url>" % n for n in range(20_000))
    body = gzip.compress(URLSET + entries + b"</urlset>")  # 0.8 MB decoded, a few kB on the wire
    listing, more = read_sitemap(body, "http://x.example/sitemap.xml.gz", 100, max_size=1 * MB)
    assert (len(listing), more) == (100, 19_900)
    with pytest.raises(SitemapTooLarge, match="size cap"):
        read_sitemap(body, "http://x.example/sitemap.xml.gz", max_size=MB // 2)


def test_the_sitemap_probe_tells_html_from_a_sitemap() -> None:
    assert not looks_like_sitemap(NOT_SITEMAPS["html"], b"application/xml")
    assert not looks_like_sitemap(b"\xef\xbb\xbf\n<!-- app shell -->\n<HTML lang=en>", None)
    assert not looks_like_sitemap(URLSET, b"text/html; charset=utf-8")
    assert not looks_like_sitemap(b"  \n", b"application/xml")
    assert looks_like_sitemap(URLSET, b"application/xml")
    assert looks_like_sitemap(gzip.compress(URLSET), b"application/octet-stream")


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
