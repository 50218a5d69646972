"""The crawl engine end to end: real Redis, real crawler processes, real HTTP fixture sites."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
import redis

from linkpatrol.model.options import CrawlOptions
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.processes import CrawlerProcess, SiteServer, wait_ended, wait_for
from tests.support.sites import fixture, generated

Factory = Callable[..., CrawlerProcess]




def report(store: CrawlStore, crawl_id: str, outcomes: tuple[str, ...]) -> dict[str, tuple[object, str, set]]:
    found = {}
    for res in store.problems(crawl_id, outcomes):
        found[res.url] = (res.status if res.status is not None else res.error, res.outcome,
                          {(r.page, r.text) for r in res.referrers})
    return found


@pytest.fixture(scope="module")
def slow_site() -> Iterator[SiteServer]:
    server = SiteServer("generated", "300", "0.05")
    yield server
    server.stop()


def test_fixture_site_every_dead_link_found_with_referrers(
    store: CrawlStore, crawlers: Factory, site: SiteServer, refused_port: int
) -> None:
    crawlers()
    crawl = store.create(site.url("main"))
    wait_ended(store, crawl.id)
    truth = fixture.truth(site.ports, refused_port)
    found = report(store, crawl.id, ("dead", "blocked", "rate_limited", "excluded", "unsupported"))
    assert found == truth
    done = store.require(crawl.id)
    assert done.state == "finished"
    assert done.dead == sum(1 for v in truth.values() if v[1] == "dead")
    # Everything else that was checked is alive, and no link was reported twice.
    alive = [r.url for r in store.iter_results(crawl.id) if r.outcome == "ok"]
    assert not set(alive) & set(truth)
    assert f"http://127.0.0.1:{site.ports['ext']}/head-405" in alive  # HEAD refused, GET tried
    assert done.links_checked == len(alive) + len(truth)
    # Redirects are recorded hop by hop.
    moved = store.result(crawl.id, site.url("main", "/redirect-ok"))
    assert moved is not None and moved.outcome == "ok" and moved.redirects[0][1] == 301
    assert moved.final_url == site.url("main", "/about.html")


def test_each_link_checked_once_and_external_pages_never_followed(
    store: CrawlStore, crawlers: Factory, site: SiteServer
) -> None:
    crawlers()
    before_main, before_ext = site.hits("main"), site.hits("ext")
    crawl = store.create(site.url("main"))
    wait_ended(store, crawl.id)
    main = {k: v - before_main.get(k, 0) for k, v in site.hits("main").items() if v > before_main.get(k, 0)}
    ext = {k: v - before_ext.get(k, 0) for k, v in site.hits("ext").items() if v > before_ext.get(k, 0)}
    # /missing.html and /blog/ are linked from two pages each: one request each.
    assert main.get("GET /missing.html") == 1
    assert main.get("GET /blog/") == 1
    assert "GET /never-followed" not in ext and "HEAD /never-followed" not in ext
    # Links to other hosts are checked with one GET (its body cut short), never HEAD by default.
    assert ext.get("GET /page.html") == 1 and "HEAD /page.html" not in ext
    assert ext.get("GET /head-405") == 1 and "HEAD /head-405" not in ext
    assert not any(k.startswith("HEAD ") for k in ext)
    # robots.txt is asked once per host, the disallowed page never.
    assert "GET /private/secret.html" not in main


def test_options_max_pages_depth_robots_external(store: CrawlStore, crawlers: Factory, site: SiteServer) -> None:
    crawlers()
    shallow = store.create(site.url("main"), CrawlOptions(max_depth=0, check_external=False, respect_robots=False))
    capped = store.create(site.url("main"), CrawlOptions(max_pages=2))
    wait_ended(store, shallow.id)
    wait_ended(store, capped.id)
    s = store.require(shallow.id)
    assert s.pages_crawled == 1  # only the home page is parsed; its links are checked
    results = {r.url: r for r in store.iter_results(shallow.id)}
    assert not any(r.external for r in results.values())
    assert results[site.url("main", "/private/secret.html")].outcome == "ok"  # robots.txt ignored
    assert site.url("main", "/deep/gone.html") not in results
    c = store.require(capped.id)
    assert c.pages_crawled == 2
    assert c.links_checked > c.pages_crawled  # pages over the budget are still checked


def test_two_crawlers_share_a_crawl(store: CrawlStore, crawlers: Factory, slow_site: SiteServer,
                                    rclient: redis.Redis) -> None:
    a, b = crawlers(), crawlers()
    crawl = store.create(slow_site.url("main"))
    wait_ended(store, crawl.id, timeout=120)
    assert_generated_exact(store, crawl.id, slow_site)
    total = store.require(crawl.id).links_checked

    def heartbeats() -> list[dict]:
        workers = [json.loads(v) for v in rclient.hgetall(Keys().crawlers).values()]
        return workers if sum(w["done"] for w in workers) >= total else []

    workers = wait_for(heartbeats, 10, what="heartbeats counting every request")
    assert len(workers) == 2
    assert all(w["done"] > 20 for w in workers), workers  # both did a real share of the work
    assert a.process.poll() is None and b.process.poll() is None


def assert_generated_exact(store: CrawlStore, crawl_id: str, server: SiteServer, pages: int = 300) -> None:
    truth = generated.truth(server.ports["main"], pages)
    found = {r.url: {ref.page for ref in r.referrers} for r in store.problems(crawl_id)}
    assert found == truth
    crawl = store.require(crawl_id)
    assert crawl.links_checked == generated.expected_urls(pages)
    assert crawl.pages_crawled == pages + 2
    assert crawl.state == "finished"


def test_sigkill_mid_crawl_loses_nothing(store: CrawlStore, crawlers: Factory, slow_site: SiteServer) -> None:
    victim = crawlers({"LINKPATROL_CONCURRENCY": "8"})
    crawlers({"LINKPATROL_CONCURRENCY": "8"})
    crawl = store.create(slow_site.url("main"))
    wait_for(lambda: store.require(crawl.id).links_checked > 60, 60, what="crawl under way")
    victim.kill()
    assert store.require(crawl.id).state == "running"
    wait_ended(store, crawl.id, timeout=120)
    assert_generated_exact(store, crawl.id, slow_site)


def test_two_concurrent_crawls_of_one_site_are_isolated(
    store: CrawlStore, crawlers: Factory, slow_site: SiteServer
) -> None:
    crawlers()
    first = store.create(slow_site.url("main"))
    second = store.create(slow_site.url("main"))
    wait_ended(store, first.id, timeout=120)
    wait_ended(store, second.id, timeout=120)
    assert_generated_exact(store, first.id, slow_site)
    assert_generated_exact(store, second.id, slow_site)


def test_bad_start_messages_are_skipped(store: CrawlStore, crawlers: Factory, site: SiteServer,
                                        rclient: redis.Redis) -> None:
    keys = Keys()
    proc = crawlers()
    good = store.create(site.url("main"), CrawlOptions(max_depth=0))
    # Bad messages around the good one: not a URL, no url, wrong type, unknown crawl.
    rclient.lpush(keys.start, "not a url", json.dumps({"url": 3}), json.dumps([1, 2]),
                  json.dumps({"crawl_id": "nope"}), json.dumps({"url": "http://x.invalid/", "max_pages": -1}))
    rclient.rpush(keys.start, "{broken")
    wait_ended(store, good.id)
    assert store.require(good.id).pages_crawled == 1
    wait_for(lambda: rclient.llen(keys.start) == 0, 10, what="start queue drained")
    log = proc.output()
    assert "not JSON" in log and 'needs a "url" string' in log and "no crawl nope" in log
    assert "must be an object" in log and "needs a scheme" in log and "max_pages: must be" in log
    assert [c.id for c in store.list()] == [good.id]  # no crawl came from a bad message
    assert proc.process.poll() is None


def test_cancel_stops_a_crawl_fast(store: CrawlStore, crawlers: Factory, slow_site: SiteServer,
                                   rclient: redis.Redis) -> None:
    crawlers({"LINKPATROL_CONCURRENCY": "4"})
    crawl = store.create(slow_site.url("main"))
    wait_for(lambda: store.require(crawl.id).links_checked > 5, 60, what="crawl under way")
    assert store.cancel(crawl.id)
    at_cancel = store.require(crawl.id).links_checked
    assert store.require(crawl.id).state == "cancelled"
    keys = Keys()
    wait_for(lambda: rclient.hlen(keys.inflight(crawl.id)) == 0, 10, what="in-flight requests dropped")
    assert rclient.llen(keys.queue(crawl.id)) == 0
    # At most the requests already in flight complete after the cancel.
    assert store.require(crawl.id).links_checked <= at_cancel + 8
    assert not store.cancel(crawl.id)  # already ended


def test_delete_removes_every_key(store: CrawlStore, crawlers: Factory, site: SiteServer,
                                  rclient: redis.Redis) -> None:
    crawlers()
    keep = store.create(site.url("main"), CrawlOptions(max_depth=0))
    gone = store.create(site.url("main"), CrawlOptions(max_depth=0))
    wait_ended(store, keep.id)
    wait_ended(store, gone.id)
    assert rclient.keys(f"*{gone.id}*")
    assert store.delete(gone.id)
    assert rclient.keys(f"*{gone.id}*") == []
    assert store.get(gone.id) is None and store.get(keep.id) is not None
    assert [c.id for c in store.list()] == [keep.id]
    assert store.problems(keep.id)


def test_redis_restart_mid_crawl(redis_server, store: CrawlStore, crawlers: Factory,  # type: ignore[no-untyped-def]
                                 slow_site: SiteServer, rclient: redis.Redis) -> None:
    procs = [crawlers({"LINKPATROL_CONCURRENCY": "8"}), crawlers({"LINKPATROL_CONCURRENCY": "8"})]
    crawl = store.create(slow_site.url("main"))
    wait_for(lambda: store.require(crawl.id).links_checked > 40, 60, what="crawl under way")
    rclient.bgrewriteaof()  # durable up to here; appendfsync everysec covers the rest
    redis_server.stop()  # SIGTERM: Redis flushes its AOF and exits
    import time

    time.sleep(2)
    redis_server.start()
    wait_ended(store, crawl.id, timeout=120)
    assert_generated_exact(store, crawl.id, slow_site)
    assert all(p.process.poll() is None for p in procs)  # waited and reconnected, did not crash
    assert any("Redis unreachable" in p.output() for p in procs)


def test_leases_whose_reply_was_lost_are_recovered(store: CrawlStore, crawlers: Factory, slow_site: SiteServer,
                                                   rclient: redis.Redis) -> None:
    """A POP that ran in Redis but whose reply never reached the crawler (the connection dropped
    between the two) leaves leases tagged with a live worker: the worker's own audit puts them back."""
    from linkpatrol.frontier import Scripts

    crawlers({"LINKPATROL_CONCURRENCY": "4"})
    crawl = store.create(slow_site.url("main"))
    wait_for(lambda: rclient.llen(Keys().queue(crawl.id)) >= 20, 60, what="a queue to lease from")
    worker = next(iter(rclient.hkeys(Keys().crawlers)))
    lost = Scripts(rclient, Keys()).pop(crawl.id, 5, worker)  # leased in Redis, unknown to the worker
    assert len(lost) == 5, lost  # 20 queued a moment ago: a loaded machine still leaves 5 to take
    wait_ended(store, crawl.id, timeout=120)
    assert_generated_exact(store, crawl.id, slow_site)


def test_scrapy_settings_choose_the_redis(store: CrawlStore, crawlers: Factory, site: SiteServer,
                                          refused_port: int, redis_url: str) -> None:
    """``scrapy crawl links -s REDIS_URL=...`` wins over the environment, as scrapy-redis users expect;
    REDIS_PARAMS reaches the client too (a client name shows in CLIENT LIST)."""
    proc = crawlers(url=f"redis://127.0.0.1:{refused_port}/0",  # the environment points nowhere
                    args=["-s", f"REDIS_URL={redis_url}", "-s", 'REDIS_PARAMS={"client_name": "lp-crawler"}'])
    crawl = store.create(site.url("main"), CrawlOptions(max_depth=0))
    wait_ended(store, crawl.id)
    assert store.require(crawl.id).pages_crawled == 1
    assert any(c.get("name") == "lp-crawler" for c in store.r.client_list())
    assert "Redis unreachable" not in proc.output()


def test_head_first_sends_head_then_get_to_a_server_that_refuses_it(store: CrawlStore, crawlers: Factory,
                                                                    site: SiteServer) -> None:
    crawlers()
    before = site.hits("ext")
    crawl = store.create(site.url("main"), CrawlOptions(head_first=True))
    wait_ended(store, crawl.id)
    ext = {k: v - before.get(k, 0) for k, v in site.hits("ext").items() if v > before.get(k, 0)}
    assert ext.get("HEAD /page.html") == 1 and "GET /page.html" not in ext
    # A server that refuses HEAD gets exactly one HEAD and one GET.
    assert ext.get("HEAD /head-405") == 1 and ext.get("GET /head-405") == 1
    counters = store.require(crawl.id).counters
    assert counters["checked_head"] > 0 and counters["checked_head_get"] >= 1
