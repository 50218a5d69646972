"""A Redis that cannot serve for a while (another client's script running past the busy threshold, so
every other client gets BUSY) stops no crawler and loses nothing: real Redis, real crawler processes,
a real busy loop in Lua killed with SCRIPT KILL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.model.options import CrawlOptions
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.busy import busy_redis
from tests.support.processes import CrawlerProcess, SiteServer, wait_ended, wait_for
from tests.support.sites import generated

Factory = Callable[..., CrawlerProcess]
PAGES = 300


@pytest.fixture(scope="module")
def slow_site() -> Iterator[SiteServer]:
    server = SiteServer("generated", str(PAGES), "0.05")
    yield server
    server.stop()


def test_a_crawl_and_an_idle_crawler_survive_a_7_second_script(
    redis_server: RedisServer, store: CrawlStore, rclient: redis.Redis, crawlers: Factory,
    slow_site: SiteServer,
) -> None:
    working = [crawlers({"LINKPATROL_CONCURRENCY": "8"}), crawlers({"LINKPATROL_CONCURRENCY": "8"})]
    # A crawler of another install on the same Redis (its own prefix): it has nothing to do, and
    # polls the start queue and the active crawls like any idle crawler.
    idle = crawlers({"LINKPATROL_PREFIX": "idle"})
    wait_for(lambda: rclient.hlen("idle:workers") == 1 and rclient.hlen("lp:workers") == 2, 60,
             what="crawlers registered")
    crawl = store.create(slow_site.url("main"))
    wait_for(lambda: store.require(crawl.id).links_checked > 40, 60, what="crawl under way")

    with busy_redis(redis_server.url, threshold_ms=1000) as end:  # BUSY after 1 s, not 5: the same state
        time.sleep(7.0 - 1.2)
        end()

    done = wait_ended(store, crawl.id, timeout=120)
    assert done.state == "finished"
    truth = generated.truth(slow_site.ports["main"], PAGES)
    assert {r.url: {ref.page for ref in r.referrers} for r in store.problems(crawl.id)} == truth
    assert done.links_checked == generated.expected_urls(PAGES)  # nothing lost, nothing twice
    assert done.pages_crawled == PAGES + 2
    for proc in [*working, idle]:
        assert proc.process.poll() is None, proc.output()[-3000:]  # waited, did not exit
        assert "start_error" not in proc.output()
    assert any("BUSY" in proc.output() for proc in working)
    assert "BUSY" in idle.output()

    # Both still work afterwards: the idle one runs a crawl of its own install.
    other = CrawlStore(rclient, Keys("idle", "idle:links:start_urls"))
    after = wait_ended(other, other.create(slow_site.url("main", "/about.html"), CrawlOptions(max_depth=0)).id,
                       timeout=60)
    assert after.state == "finished" and after.links_checked == 2  # the page and its link home
