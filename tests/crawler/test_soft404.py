"""No url can hold a crawl open (tests/support/sites/soft404.py): a site that answers 200 with HTML
where its sitemap should be, sitemaps that are not sitemaps, a lease held past the bound, and a
crawler that stops on SIGTERM while a download is far from done."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from crawler.parse_threads import off_reactor
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.verdicts import ErrorKind, Outcome
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import list_crawlers
from tests.support.processes import CrawlerProcess, SiteServer, crawl_to_end, wait_ended, wait_for
from tests.support.sites import soft404

Factory = Callable[..., CrawlerProcess]


@pytest.fixture(scope="module")
def soft_site() -> Iterator[SiteServer]:
    server = SiteServer("soft404")
    yield server
    server.stop()


def test_a_site_answering_html_everywhere_is_crawled_to_the_end(store: CrawlStore, crawlers: Factory,
                                                                soft_site: SiteServer) -> None:
    crawlers()
    # The case: every path, /robots.txt and /sitemap.xml included, is the same HTML page.
    crawl = crawl_to_end(store, soft_site.url("generic", "/plain-page"), timeout=60)
    assert crawl.state == "finished" and crawl.links_checked == 1 and store.problems(crawl.id) == []
    # A small site whose unknown paths are a "not found" page answered 200: all its pages, no sitemap.
    crawl = crawl_to_end(store, soft_site.url("soft"), timeout=60)
    assert crawl.pages_crawled == soft404.PAGES and store.problems(crawl.id) == []
    assert soft_site.url("soft", "/sitemap.xml") not in {r.url for r in store.iter_results(crawl.id)}


def test_sitemaps_that_are_not_sitemaps_are_no_sitemaps(store: CrawlStore, crawlers: Factory,
                                                        soft_site: SiteServer) -> None:
    crawler = crawlers()
    crawl = crawl_to_end(store, soft_site.url("broken"), timeout=60)
    assert store.problems(crawl.id) == [] and store.orphans(crawl.id) == []
    results = {r.url: r for r in store.iter_results(crawl.id)}
    for path in soft404.BROKEN_SITEMAPS:  # each checked (robots.txt names it): alive, listing nothing
        if path != "/bomb.xml.gz":
            assert results[soft_site.url("broken", path)].outcome == Outcome.OK
    # The bomb decodes past the crawl's size cap: too large, as any answer would be.
    bomb = results[soft_site.url("broken", "/bomb.xml.gz")]
    assert (bomb.outcome, bomb.error) == (Outcome.WARNING, "too-large")
    log = crawler.output()
    for path in ("/truncated.xml.gz", "/garbage.xml", "/html.xml"):
        assert f"{soft_site.url('broken', path)} is not a sitemap" in log
    assert "Traceback" not in log and "Task was destroyed" not in log


def test_many_such_crawls_do_not_exhaust_a_crawler(store: CrawlStore, crawlers: Factory,
                                                   soft_site: SiteServer, rclient: redis.Redis) -> None:
    # Eight lease slots; each crawl reads an HTML page robots.txt names as its sitemap. A lost lease
    # per crawl used to leave this crawler with no slot after eight crawls.
    crawlers({"LINKPATROL_CONCURRENCY": "8"}, args=["-s", "LINKPATROL_PREFETCH=0"])
    crawls = [store.create(soft_site.url("named", f"/page-{n}"), CrawlOptions()) for n in range(40)]
    for crawl in crawls:
        ended = wait_ended(store, crawl.id, 120)
        assert ended.state == "finished" and ended.links_checked == 2  # the page and its "sitemap"
        assert store.problems(crawl.id) == []
    wait_for(lambda: [w["held"] for w in list_crawlers(rclient, Keys())] == [0], 15, what="every slot free")
    assert crawl_to_end(store, soft_site.url("soft"), timeout=60).pages_crawled == soft404.PAGES


def test_a_lease_held_past_the_bound_is_decided(store: CrawlStore, crawlers: Factory, soft_site: SiteServer,
                                                rclient: redis.Redis) -> None:
    # Downloads may take a minute here, a lease only 3 s: the bound decides /slow and /stall (a parse
    # lost to a bug would be decided the same way), the crawl ends, and the slots are free again.
    crawler = crawlers({"LINKPATROL_TIMEOUT": "60", "LINKPATROL_LEASE_MAX_SECONDS": "3"})
    started = time.monotonic()
    crawl = crawl_to_end(store, soft_site.url("slow"), CrawlOptions(sitemaps=False), timeout=60)
    assert time.monotonic() - started < soft404.STALL / 2
    results = {r.url: r for r in store.iter_results(crawl.id)}
    for path in ("/slow", "/stall"):
        assert (results[soft_site.url("slow", path)].outcome, results[soft_site.url("slow", path)].error) == \
            (Outcome.DEAD, ErrorKind.TIMEOUT)
    assert crawl.links_checked == 3 and not rclient.exists(Keys().lease_clock(crawl.id))
    wait_for(lambda: [w["held"] for w in list_crawlers(rclient, Keys())] == [0], 15, what="the slots freed")
    assert "was held by" in crawler.output()
    # /slow answers after all: its late result changes nothing.
    time.sleep(soft404.SLOW)
    again = store.require(crawl.id)
    assert (again.links_checked, again.dead) == (3, 2)
    assert results[soft_site.url("slow", "/slow")] == next(
        r for r in store.iter_results(crawl.id) if r.url == soft_site.url("slow", "/slow"))


def test_sigterm_stops_a_crawler_promptly(store: CrawlStore, crawlers: Factory, soft_site: SiteServer,
                                          rclient: redis.Redis) -> None:
    # /stall answers after two minutes and the download timeout is longer: a graceful stop would wait
    # for it. The crawler exits within seconds, its lease given back for another crawler.
    crawler = crawlers({"LINKPATROL_TIMEOUT": "300"})
    asked = soft_site.hits("slow").get("GET /stall", 0)
    crawl = store.create(soft_site.url("slow"), CrawlOptions(sitemaps=False))
    stall = soft_site.url("slow", "/stall")
    wait_for(lambda: soft_site.hits("slow").get("GET /stall", 0) > asked, 60,
             what=f"/stall requested; the crawler's log: {crawler.output()[-3000:]}")
    sent = time.monotonic()
    crawler.process.send_signal(signal.SIGTERM)
    assert crawler.process.wait(20) == 0, crawler.output()[-3000:]
    assert time.monotonic() - sent < 15
    assert stall in rclient.hkeys(Keys().urls(crawl.id))
    assert not rclient.hexists(Keys().inflight(crawl.id), stall)  # given back: queued again
    assert any(stall in raw for raw in rclient.lrange(Keys().queue(crawl.id), 0, -1))
    assert list_crawlers(rclient, Keys()) == []
    assert "returned" in crawler.output()


def test_a_parse_that_raises_stopiteration_reaches_its_caller() -> None:
    # asyncio.to_thread never woke its task for a StopIteration (Scrapy's Sitemap raised it on HTML):
    # the task died with its lease. off_reactor hands every failure back as an Exception.
    def no_root(body: bytes) -> None:
        next(iter(()))

    async def main() -> None:
        with pytest.raises(RuntimeError, match="StopIteration"):
            await asyncio.wait_for(off_reactor(no_root, b"<html>"), 10)

    asyncio.run(main())
