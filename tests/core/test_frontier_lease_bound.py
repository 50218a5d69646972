"""The lease bound on its own, against the test Redis: POP starts a lease's clock, COMPLETE and REQUEUE
stop it, OVERDUE takes over the leases whose clock ran past the cutoff, and the verdict its taker
records (``OverdueLease.completion``: ``timeout``) ends the crawl like any result would."""

from __future__ import annotations

from linkpatrol.frontier import OverdueLease, Scripts
from linkpatrol.model.verdicts import ErrorKind, Outcome
from linkpatrol.model.wire import Completion, FoundLink, FrontierMessage, LinkResult, MessageKind
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.frontier import NOW, SITE, Client, running


def clocks(rclient: Client, keys: Keys, crawl_id: str) -> dict[str, float]:
    return dict(rclient.zrange(keys.lease_clock(crawl_id), 0, -1, withscores=True))


def test_pop_starts_the_clock_and_complete_or_requeue_stops_it(store: CrawlStore, rclient: Client,
                                                              scripts: Scripts, keys: Keys) -> None:
    crawl_id = running(store, rclient, scripts, ("/a", "/b", "/c"))
    assert clocks(rclient, keys, crawl_id) == {}  # the seed's clock stopped with its result
    scripts.pop(crawl_id, 2, "w1", NOW + 10)
    scripts.pop(crawl_id, 1, "w2", NOW + 20)
    assert clocks(rclient, keys, crawl_id) == {f"{SITE}/a": NOW + 10, f"{SITE}/b": NOW + 10, f"{SITE}/c": NOW + 20}
    scripts.complete(Completion(crawl_id, LinkResult(f"{SITE}/a", Outcome.OK, status=200)), now=NOW, max_referrers=10)
    assert scripts.requeue(crawl_id, "w1") == 1  # /b
    assert clocks(rclient, keys, crawl_id) == {f"{SITE}/c": NOW + 20}


def test_overdue_takes_over_only_what_ran_past_the_cutoff(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                         keys: Keys) -> None:
    crawl_id = running(store, rclient, scripts, ("/a", "/b", "/c"))
    (a,) = scripts.pop(crawl_id, 1, "w1", NOW + 10)
    scripts.pop(crawl_id, 1, "w2", NOW + 20)
    assert scripts.overdue(crawl_id, NOW + 9, "reaper") == []
    taken = OverdueLease.parse(scripts.overdue(crawl_id, NOW + 10, "reaper"))
    assert taken == [OverdueLease(f"{SITE}/a", "w1", FrontierMessage.decode(a))]
    # Taken over: tagged with the reaper (a peer's REQUEUE of w1 leaves it alone), its clock gone, so
    # no second reaper takes it; /b runs on, /c was never leased.
    assert rclient.hget(keys.inflight(crawl_id), f"{SITE}/a") == f"reaper\n{a}"
    assert scripts.requeue(crawl_id, "w1") == 0
    assert clocks(rclient, keys, crawl_id) == {f"{SITE}/b": NOW + 20}
    assert scripts.overdue(crawl_id, NOW + 10, "other") == []


def test_a_clock_whose_lease_is_gone_is_dropped(store: CrawlStore, rclient: Client, scripts: Scripts,
                                               keys: Keys) -> None:
    crawl_id = running(store, rclient, scripts, ("/a",))
    scripts.pop(crawl_id, 1, "w1", NOW)
    rclient.hdel(keys.inflight(crawl_id), f"{SITE}/a")  # released by a path that left its clock behind
    assert scripts.overdue(crawl_id, NOW + 1000, "reaper") == []
    assert clocks(rclient, keys, crawl_id) == {}


def test_overdue_takes_a_batch_per_call(store: CrawlStore, rclient: Client, scripts: Scripts) -> None:
    paths = tuple(f"/p{n}" for n in range(7))
    crawl_id = running(store, rclient, scripts, paths)
    scripts.pop(crawl_id, 7, "w1", NOW)
    first = OverdueLease.parse(scripts.overdue(crawl_id, NOW, "reaper", limit=5))
    second = OverdueLease.parse(scripts.overdue(crawl_id, NOW, "reaper", limit=5))
    assert (len(first), len(second)) == (5, 2)
    assert {lease.url for lease in first + second} == {SITE + p for p in paths}


def test_the_verdict_of_an_overdue_lease_ends_the_crawl_once(store: CrawlStore, rclient: Client,
                                                             scripts: Scripts, keys: Keys) -> None:
    crawl_id = running(store, rclient, scripts, ("/lost",))
    scripts.pop(crawl_id, 1, "w1", NOW)
    (lease,) = OverdueLease.parse(scripts.overdue(crawl_id, NOW + 300, "reaper"))
    assert scripts.complete(lease.completion(crawl_id, external=False), now=NOW + 301, max_referrers=10) == 2
    crawl = store.require(crawl_id)
    assert crawl.state == "finished" and crawl.links_checked == 2 and crawl.dead == 1
    assert crawl.counters.get("error_timeout") == 1
    (lost,) = store.problems(crawl_id)
    assert (lost.url, lost.outcome, lost.error) == (f"{SITE}/lost", Outcome.DEAD, ErrorKind.TIMEOUT)
    # The worker that held it comes back after all, with a page full of links: nothing changes.
    late = Completion(crawl_id, LinkResult(f"{SITE}/lost", Outcome.OK, status=200), True,
                      [FoundLink(f"{SITE}/new", FrontierMessage(f"{SITE}/new", MessageKind.PAGE, 2))])
    assert scripts.complete(late, now=NOW + 400, max_referrers=10) == 1
    again = store.require(crawl_id)
    assert (again.state, again.links_checked, again.dead) == ("finished", 2, 1)
    assert not rclient.exists(keys.queue(crawl_id), keys.inflight(crawl_id), keys.lease_clock(crawl_id))
