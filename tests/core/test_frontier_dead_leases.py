"""REQUEUE of a dead worker's leases on its own, against the test Redis: each message goes back with
its attempt count one higher; one that stopped as many crawlers as the bound allows is taken over by
the reaper instead, and the verdict it records (``timeout``) ends the crawl like any result would."""

from __future__ import annotations

from linkpatrol.frontier import Scripts, dead_requeued
from linkpatrol.model.verdicts import ErrorKind, Outcome
from linkpatrol.model.wire import Completion, FrontierMessage, LinkResult, MessageKind
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.frontier import NOW, SITE, Client, running


def test_each_crawler_that_dies_holding_a_url_counts_and_the_last_one_allowed_leaves_it_to_the_reaper(
        store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys) -> None:
    crawl_id = running(store, rclient, scripts, ("/freezes", "/fine"))
    url = f"{SITE}/freezes"
    for attempt in (1, 2):
        (raw,) = scripts.pop(crawl_id, 1, f"w{attempt}", NOW)
        assert FrontierMessage.decode(raw).url == url
        assert dead_requeued(scripts.requeue_dead(crawl_id, f"w{attempt}", "reaper", 3)) == (1, [])
        head = FrontierMessage.decode(rclient.lindex(keys.queue(crawl_id), 0))
        assert (head.url, head.kind, head.depth, head.attempts) == (url, MessageKind.PAGE, 1, attempt)
        assert not rclient.hexists(keys.inflight(crawl_id), url)
        assert rclient.zscore(keys.lease_clock(crawl_id), url) is None

    scripts.pop(crawl_id, 2, "w3", NOW)  # the third crawler holds it and /fine, and dies
    returned, taken = dead_requeued(scripts.requeue_dead(crawl_id, "w3", "reaper", 3))
    assert returned == 1 and [FrontierMessage.decode(m).url for m in rclient.lrange(keys.queue(crawl_id), 0, -1)] \
        == [f"{SITE}/fine"]
    (lease,) = taken
    assert (lease.url, lease.crawler, lease.message.attempts) == (url, "w3", 3)
    # Taken over by the reaper (a reaper that dies now leaves it to the next), its clock stopped.
    assert rclient.hget(keys.inflight(crawl_id), url).startswith("reaper\n")
    assert rclient.zscore(keys.lease_clock(crawl_id), url) is None

    scripts.complete(lease.completion(crawl_id, external=False), now=NOW, max_referrers=10)
    result = store.result(crawl_id, url)
    assert result is not None and (result.outcome, result.error) == (Outcome.DEAD, ErrorKind.TIMEOUT)
    assert len(scripts.pop(crawl_id, 5, "w4", NOW)) == 1
    scripts.complete(Completion(crawl_id, LinkResult(f"{SITE}/fine", Outcome.OK, status=200)), now=NOW,
                     max_referrers=10)
    assert store.require(crawl_id).state == "finished"


def test_a_worker_that_stopped_or_put_work_off_counts_no_attempt(store: CrawlStore, rclient: Client,
                                                                 scripts: Scripts, keys: Keys) -> None:
    # A crawler stopping on purpose, a lost reply or a lease put off gives work back as it was.
    crawl_id = running(store, rclient, scripts, ("/a",))
    for _ in range(4):
        scripts.pop(crawl_id, 1, "w1", NOW)
        assert scripts.requeue(crawl_id, "w1") == 1
    assert FrontierMessage.decode(rclient.lindex(keys.queue(crawl_id), 0)).attempts == 0


def test_no_bound_queues_it_again_for_ever(store: CrawlStore, rclient: Client, scripts: Scripts,
                                           keys: Keys) -> None:
    crawl_id = running(store, rclient, scripts, ("/a",))
    for _ in range(5):
        scripts.pop(crawl_id, 1, "w1", NOW)
        assert dead_requeued(scripts.requeue_dead(crawl_id, "w1", "reaper", 0)) == (1, [])
    assert FrontierMessage.decode(rclient.lindex(keys.queue(crawl_id), 0)).attempts == 5


def test_the_leases_of_a_dead_worker_in_a_cancelled_crawl_are_dropped(store: CrawlStore, rclient: Client,
                                                                      scripts: Scripts, keys: Keys) -> None:
    crawl_id = running(store, rclient, scripts, ("/a", "/b"))
    scripts.pop(crawl_id, 2, "w1", NOW)
    assert store.cancel(crawl_id)
    assert dead_requeued(scripts.requeue_dead(crawl_id, "w1", "reaper", 1)) == (2, [])
    assert not rclient.exists(keys.queue(crawl_id), keys.inflight(crawl_id), keys.lease_clock(crawl_id))
