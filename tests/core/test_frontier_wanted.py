"""The #anchors asked of a page before it is read, settled in bounded calls: straight through
``linkpatrol.frontier.Scripts`` against the private Redis. A hostile site asks tens of thousands of
fragments of a page read last; no single COMPLETE call may grow with them."""

from __future__ import annotations

from typing import Any

import pytest

from linkpatrol.frontier import SETTLING, WANT_BATCH, Scripts
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import Completion, FoundLink, FrontierMessage, LinkResult, MessageKind, Referrer
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys

SITE = "http://site.example"
NOW = 1_700_000_000.0
ASKED = 50_000  # fragments of /x asked before /x is read
PRESENT = 10_000  # ids /x holds: a0 ... a9999 (the most the crawler sends, LINKPATROL_MAX_LINKS_PER_PAGE)
SLOW_US = 25_000  # SLOWLOG threshold: about 4 ms a call here; the single call this replaced ran 5.5 s
Client = Any  # the rclient fixture: a redis.Redis that decodes


@pytest.fixture
def scripts(rclient: Client, store: CrawlStore) -> Scripts:
    return Scripts(rclient, store.keys)


def fragment(n: int, on: str = "/") -> FoundLink:
    url = SITE + "/x"
    return FoundLink(url, FrontierMessage(url, MessageKind.PAGE, 1), Referrer(SITE + on, f"a{n}", "a", f"a{n}"),
                     f"a{n}")


def record(scripts: Scripts, done: Completion) -> int:
    return int(scripts.complete(done, now=NOW + 1, max_referrers=10))


def asked_of_x(store: CrawlStore, rclient: Client, scripts: Scripts, also: str = "") -> str:
    """A running crawl whose home page asked ASKED fragments of /x (and links ``also``, a page), the
    urls it queued leased and not recorded yet."""
    crawl = store.create(SITE + "/")
    assert rclient.lpop(store.keys.start) is not None
    assert scripts.seed(crawl.id, SITE + "/", NOW) == 1
    assert len(scripts.pop(crawl.id, 1, "w0")) == 1
    home = Completion(crawl.id, LinkResult(SITE + "/", Outcome.OK, status=200), True,
                      [fragment(n) for n in range(ASKED)])
    if also:
        home.links.append(FoundLink(SITE + also, FrontierMessage(SITE + also, MessageKind.PAGE, 1)))
    assert record(scripts, home) == 1
    assert rclient.scard(store.keys.wanted_prefix(crawl.id) + SITE + "/x") == ASKED
    assert len(scripts.pop(crawl.id, 2, "w0")) == (2 if also else 1)  # /x (the last url), ``also``
    return crawl.id


def command_calls(rclient: Client) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in rclient.info("commandstats").items()}


def slow_calls(rclient: Client) -> list[tuple[int, str]]:
    return [(e["duration"], e["command"].decode("utf-8", "replace")[:60]) for e in rclient.slowlog_get(1000)]


def test_fifty_thousand_asked_anchors_are_settled_in_bounded_calls(store: CrawlStore, rclient: Client,
                                                                   scripts: Scripts) -> None:
    crawl_id = asked_of_x(store, rclient, scripts)
    keys: Keys = store.keys
    x = Completion(crawl_id, LinkResult(SITE + "/x", Outcome.OK, status=200), True,
                   anchors={f"a{n}" for n in range(PRESENT)})
    rclient.config_set("slowlog-log-slower-than", SLOW_US)
    rclient.slowlog_reset()
    rclient.config_resetstat()
    try:
        assert record(scripts, x) == 2  # /x was the last url: its record ends the crawl
        slow = slow_calls(rclient)
    finally:
        rclient.config_set("slowlog-log-slower-than", 10_000)
    calls = command_calls(rclient)
    # Never the whole set at once: SPOP of WANT_BATCH per call, as many COMPLETE calls as it takes.
    assert "cmdstat_smembers" not in calls
    assert calls["cmdstat_spop"] >= ASKED // WANT_BATCH
    assert calls["cmdstat_evalsha"] >= ASKED // WANT_BATCH
    assert not slow, f"calls above {SLOW_US} us: {slow}"
    # Every asked anchor ended once: missing (with its referrer) or fine (its referrers dropped).
    crawl = store.require(crawl_id)
    assert crawl.outcome_count(Outcome.MISSING_ANCHOR) == ASKED - PRESENT
    assert rclient.scard(keys.problems(crawl_id)) == ASKED - PRESENT
    gone = store.result(crawl_id, SITE + "/x#a12345")
    assert gone is not None and gone.outcome == "missing_anchor"
    assert [(r.page, r.text) for r in gone.referrers] == [(SITE + "/", "a12345")]
    assert store.result(crawl_id, SITE + "/x#a42") is None
    assert not rclient.exists(keys.refs(crawl_id, SITE + "/x#a42"))
    assert crawl.pages_crawled == 2 and crawl.links_checked == 2 and crawl.state == "finished"
    assert not rclient.keys(f"{keys.wanted_prefix(crawl_id)}*"), "no question left open once the crawl ends"
    # Recorded again (a retry, a page redone after its worker was thought dead): nothing counted twice.
    assert record(scripts, x) == 1
    again = store.require(crawl_id)
    assert (again.outcome_count(Outcome.MISSING_ANCHOR), again.links_checked) == (ASKED - PRESENT, 2)


def test_anchors_asked_while_a_page_is_settled_are_checked_at_once(store: CrawlStore, rclient: Client,
                                                                   scripts: Scripts) -> None:
    crawl_id = asked_of_x(store, rclient, scripts, also="/y")
    keys: Keys = store.keys
    wanted = keys.wanted_prefix(crawl_id) + SITE + "/x"
    x = Completion(crawl_id, LinkResult(SITE + "/x", Outcome.OK, status=200), True,
                   anchors={f"a{n}" for n in range(PRESENT)})
    (settle,) = scripts.completion_steps(x, now=NOW + 1, max_referrers=10, until_recorded=False)
    assert settle() == SETTLING  # one batch settled, nothing recorded: the lease is still held
    assert rclient.hget(keys.urls(crawl_id), SITE + "/x") == ""
    assert rclient.scard(wanted) == ASKED - WANT_BATCH
    missing = store.require(crawl_id).outcome_count(Outcome.MISSING_ANCHOR)
    # Another page asks of /x meanwhile: decided on the spot, against the anchors the first call stored.
    y = Completion(crawl_id, LinkResult(SITE + "/y", Outcome.OK, status=200), True,
                   [fragment(7, on="/y"), fragment(ASKED + 1, on="/y")])
    assert record(scripts, y) == 1
    assert rclient.scard(wanted) == ASKED - WANT_BATCH
    assert store.require(crawl_id).outcome_count(Outcome.MISSING_ANCHOR) == missing + 1
    late = store.result(crawl_id, f"{SITE}/x#a{ASKED + 1}")
    assert late is not None and [r.page for r in late.referrers] == [SITE + "/y"]
    while (answer := settle()) == SETTLING:
        pass
    assert answer == 2
    crawl = store.require(crawl_id)
    assert crawl.outcome_count(Outcome.MISSING_ANCHOR) == ASKED - PRESENT + 1
    assert not rclient.keys(f"{keys.wanted_prefix(crawl_id)}*")


def test_anchors_asked_of_a_page_not_read_are_dropped_in_bounded_calls(store: CrawlStore, rclient: Client,
                                                                       scripts: Scripts) -> None:
    crawl_id = asked_of_x(store, rclient, scripts, also="/y")
    keys: Keys = store.keys
    dead = Completion(crawl_id, LinkResult(SITE + "/x", Outcome.DEAD, status=404), False)  # not read
    (settle,) = scripts.completion_steps(dead, now=NOW + 1, max_referrers=10, until_recorded=False)
    assert settle() == SETTLING
    # Asked meanwhile: not checked (the page has no anchors to check against), not kept either.
    y = Completion(crawl_id, LinkResult(SITE + "/y", Outcome.OK, status=200), True, [fragment(7, on="/y")])
    assert record(scripts, y) == 1
    assert rclient.scard(keys.wanted_prefix(crawl_id) + SITE + "/x") == ASKED - WANT_BATCH
    rclient.config_resetstat()
    while (answer := settle()) == SETTLING:
        pass
    assert answer == 2
    assert command_calls(rclient)["cmdstat_evalsha"] >= (ASKED - WANT_BATCH) // WANT_BATCH
    crawl = store.require(crawl_id)
    assert crawl.outcome_count(Outcome.MISSING_ANCHOR) == 0 and crawl.dead == 1
    assert not rclient.hexists(keys.anchors(crawl_id), SITE + "/x"), "the settling marker is gone"
    assert not rclient.keys(f"{keys.wanted_prefix(crawl_id)}*")
    assert not rclient.exists(keys.refs(crawl_id, SITE + "/x#a7"))
    assert store.result(crawl_id, SITE + "/x#a7") is None and store.result(crawl_id, SITE + "/x#a12345") is None
