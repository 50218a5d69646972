"""Redis restarting with a data set to load answers LOADING for seconds: crawlers wait through it and
lose nothing. Real Redis (AOF, several million keys to load), real crawler processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_ended, wait_for
from tests.support.sites import generated

Factory = Callable[..., CrawlerProcess]
PAGES = 300
FILL = "for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do redis.call('SET', 'fill:' .. i, 'x') end"
KEYS_TO_LOAD = 6_000_000  # a few seconds of LOADING on the test machine
# Keys set by one call while filling: 500,000 took more than the client's 5 s timeout once, on a machine
# busy with the other test worker; a tenth of a second each here.
FILL_BATCH = 100_000


@pytest.fixture(scope="module")
def slow_site() -> Iterator[SiteServer]:
    server = SiteServer("generated", str(PAGES), "0.05")
    yield server
    server.stop()


def _rewriting(r: redis.Redis) -> bool:
    info = r.info("persistence")
    return bool(info["aof_rewrite_in_progress"] or info["aof_rewrite_scheduled"])


def test_crawlers_wait_while_redis_loads_its_data(
    redis_server: RedisServer, store: CrawlStore, rclient: redis.Redis, crawlers: Factory, slow_site: SiteServer
) -> None:
    for start in range(1, KEYS_TO_LOAD, FILL_BATCH):
        rclient.eval(FILL, 0, start, start + FILL_BATCH - 1)
    procs = [crawlers({"LINKPATROL_CONCURRENCY": "8"}), crawlers({"LINKPATROL_CONCURRENCY": "8"})]
    crawl = store.create(slow_site.url("main"))
    wait_for(lambda: store.require(crawl.id).links_checked > 40, 60, what="crawl under way")
    # Filling may have started Redis's own AOF rewrite: let it end, then ask for one of our own (its
    # answer is an error while another is under way).
    wait_for(lambda: not _rewriting(rclient), 120, interval=0.2, what="Redis's own AOF rewrite")
    rclient.bgrewriteaof()
    wait_for(lambda: not _rewriting(rclient), 120, interval=0.2, what="the AOF rewrite")
    redis_server.stop()  # SIGTERM: Redis flushes its AOF and exits
    redis_server.start(timeout=120)  # returns once it answers PING, after loading
    rclient.connection_pool.disconnect()

    done = wait_ended(store, crawl.id, timeout=120)
    truth = generated.truth(slow_site.ports["main"], PAGES)
    assert {r.url: {ref.page for ref in r.referrers} for r in store.problems(crawl.id)} == truth
    assert done.links_checked == generated.expected_urls(PAGES)
    for proc in procs:
        assert proc.process.poll() is None, proc.output()[-3000:]
    assert any("LOADING" in proc.output() or "loading the dataset" in proc.output() for proc in procs)
