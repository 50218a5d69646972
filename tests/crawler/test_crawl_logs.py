"""What a crawler logs. A page full of links with invalid hosts (issue 11, item 9): through a real crawl,
each is a dead link decided at once, with at most one log line, never a traceback. A crawler's start and
an ordinary crawl log no warning at all (issue 21: Scrapy's deprecations are fixed, not filtered)."""

from __future__ import annotations

from collections.abc import Callable

from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_ended
from tests.support.sites import badhosts

PER_SHAPE = 5


def test_invalid_hosts_are_one_line_each(store: CrawlStore, crawlers: Callable[..., CrawlerProcess]) -> None:
    site = SiteServer("badhosts", str(PER_SHAPE))
    try:
        crawler = crawlers()
        crawl = wait_ended(store, store.create(site.url("main")).id, timeout=60)
    finally:
        site.stop()
    crawler.stop(timeout=10)
    assert crawl.state == "finished"
    links = badhosts.links(PER_SHAPE)
    results = {r.url: r for r in store.problems(crawl.id, ("dead",), referrers=None)}
    assert len(results) == len(links)
    # Decided by what the host is, not by waiting: no invalid host is a timeout.
    assert all(r.error != "timeout" for r in results.values()), {u: r.error for u, r in results.items()}
    log = crawler.output()
    assert "Traceback" not in log and "Unhandled error" not in log
    for url in links:
        host = url.split("//", 1)[1].split("/", 1)[0]  # urlsplit refuses some of these hosts
        assert sum(host in line for line in log.splitlines()) <= 1, host


def test_start_and_crawl_log_no_warning(store: CrawlStore, crawlers: Callable[..., CrawlerProcess]) -> None:
    # The address guard on, as in production (LINKPATROL_ALLOW_PRIVATE=1 is itself a warning), with
    # loopback allowed so that the fixture site may be crawled.
    site = SiteServer("generated", "30")
    try:
        crawler = crawlers({"LINKPATROL_ALLOW_PRIVATE": "", "LINKPATROL_ALLOWED_NETWORKS": "127.0.0.0/8"})
        crawl = wait_ended(store, store.create(site.url("main")).id, timeout=60)
    finally:
        site.stop()
    crawler.stop(timeout=10)
    assert crawl.state == "finished"
    assert crawl.pages_crawled >= 30
    assert store.problems(crawl.id, ("dead",), referrers=None)  # dead links are results, not warnings
    log = crawler.output()
    assert "Spider opened" in log  # the start was logged, at INFO
    noisy = [line for line in log.splitlines() if " WARNING: " in line or " ERROR: " in line
             or "Deprecat" in line]
    assert not noisy, noisy
