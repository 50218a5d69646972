"""Politeness shared by every crawler: per-host concurrency and rate across two processes, a
Retry-After seen by one crawler keeping every crawler away from that host, and a site's own robots.txt
paced as that site."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from linkpatrol.model.options import CrawlOptions, InvalidOption
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import list_crawlers
from tests.support.processes import CrawlerProcess, SiteServer, wait_for
from tests.support.sites import generated, polite

Factory = Callable[..., CrawlerProcess]
RETRY_AFTER = 3.0
GRACE = 0.3  # a request already granted when the 429 was answered may still arrive


@pytest.fixture
def polite_site() -> Iterator[SiteServer]:
    server = SiteServer("polite", str(int(RETRY_AFTER)))
    yield server
    server.stop()


def test_limits_and_retry_after_hold_across_two_crawlers(
    store: CrawlStore, crawlers: Factory, polite_site: SiteServer, rclient: redis.Redis
) -> None:
    env = {"LINKPATROL_CONCURRENCY": "4", "LINKPATROL_HOST_CONCURRENCY": "2", "LINKPATROL_HOST_RATE": "10"}
    crawlers(env)
    crawlers(env)
    wait_for(lambda: len(list_crawlers(rclient, Keys())) == 2, 30, what="two crawlers registered")
    crawl = store.create(polite_site.url("main"), CrawlOptions(site_concurrency=2, site_rate=8))
    wait_for(lambda: store.require(crawl.id).state == "finished", 90, what="crawl to finish")

    done = store.require(crawl.id)
    assert done.links_checked == 1 + polite.PAGES + polite.EXTERNAL
    assert store.problems(crawl.id, ("dead", "blocked", "rate_limited")) == []  # the 429 was retried
    assert all(w["done"] > 0 for w in list_crawlers(rclient, Keys())), "both crawlers did work"

    main, ext = polite_site.log("main"), polite_site.log("ext")
    # The crawled site: at most 2 at once and about 8 a second, whichever crawler sent them.
    assert main["max_concurrent"] <= 2
    times = sorted(entry[0] for entry in main["log"])
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 8 + 2
    # Other hosts: the default limit, 2 at once.
    assert ext["max_concurrent"] <= 2
    # After the 429 with Retry-After, nobody came back before the wait was over.
    limited = [e for e in ext["log"] if e[2] == polite.LIMITED]
    t429 = next(e[0] for e in limited if e[3] == 429)
    during = [e for e in ext["log"] if t429 + GRACE < e[0] < t429 + RETRY_AFTER - 0.05]
    assert during == [], f"requests reached the host during its Retry-After: {during}"
    assert any(e[3] == 200 for e in limited), "the rate-limited url was checked again afterwards"
    after = [e for e in ext["log"] if e[0] > t429 + GRACE]
    assert after and min(e[0] for e in after) >= t429 + RETRY_AFTER - 0.05
    # Politeness keys are per host, outside every crawl, and expire on their own.
    host_keys = rclient.keys(f"{Keys().prefix}:host:*")
    assert host_keys and all(rclient.pttl(k) > 0 for k in host_keys)


def test_site_politeness_options_are_validated() -> None:
    for bad in ({"site_concurrency": 0}, {"site_concurrency": True}, {"site_rate": 0}, {"site_rate": "fast"}):
        with pytest.raises(InvalidOption):
            CrawlOptions(**bad).validate()  # type: ignore[arg-type]
    assert CrawlOptions(site_concurrency=3, site_rate=2.5).validate().site_rate == 2.5


def test_a_rate_limited_host_does_not_starve_the_crawl(store: CrawlStore, crawlers: Callable[..., Any],
                                                      rclient: redis.Redis) -> None:
    """240 links to one other host held to 10 requests/s take 24 s; the site's own 120 pages must not
    wait for them: leases per other host are capped, the rest of the queue goes on."""
    site = SiteServer("busyhost", "120", "2")
    try:
        crawlers({"LINKPATROL_HOST_RATE": "10", "LINKPATROL_HOST_CONCURRENCY": "2",
                  "LINKPATROL_CONCURRENCY": "16"})
        crawl = store.create(site.url("main"))
        started = time.monotonic()
        wait_for(lambda: store.require(crawl.id).pages_crawled == 120, 60, what="every page of the site")
        pages_done = time.monotonic() - started
        wait_for(lambda: store.require(crawl.id).state == "finished", 90, what="the crawl to finish")
        total = time.monotonic() - started
        assert store.require(crawl.id).links_checked == 120 + 240
        assert total > 20  # the busy host's rate was honoured
        print(f"pages done after {pages_done:.1f}s, crawl finished after {total:.1f}s")
        assert pages_done < total / 2, (pages_done, total)
    finally:
        site.stop()


def test_each_crawlers_robots_txt_of_the_site_is_paced_as_the_site(store: CrawlStore, crawlers: Factory,
                                                                   rclient: redis.Redis) -> None:
    """Every crawler asks the site's robots.txt before its first page of the site. That request
    belongs to no crawl, and was paced as another host: with other hosts held to one request every
    5 s, the second crawler's first pages waited 5 s behind it (a fifth of a second at the default
    rate, on every check with two crawlers). It is paced as the site it belongs to, here unlimited."""
    site = SiteServer("generated", "300", "0.05")
    try:
        env = {"LINKPATROL_HOST_RATE": "0.2", "LINKPATROL_HOST_CONCURRENCY": "1", "LINKPATROL_TRAP_IDS": "0"}
        crawlers(env)
        crawlers(env)
        wait_for(lambda: len(list_crawlers(rclient, Keys())) == 2, 30, what="two crawlers registered")
        started = time.monotonic()
        crawl = store.create(site.url("main"))
        wait_for(lambda: store.require(crawl.id).state == "finished", 60, what="the crawl to finish")
        took = time.monotonic() - started
        assert store.require(crawl.id).links_checked == generated.expected_urls(300)
        # Each crawler's count of requests done reaches Redis with its next heartbeat.
        wait_for(lambda: sum(w["done"] for w in list_crawlers(rclient, Keys())) >= generated.expected_urls(300),
                 30, what="both crawlers' heartbeats")
        assert all(w["done"] > 0 for w in list_crawlers(rclient, Keys())), "both crawlers did work"
        assert took < 4.0, f"the crawl took {took:.1f} s: a robots.txt waited on the other-host rate"
    finally:
        site.stop()
