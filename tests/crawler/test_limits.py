"""Crawls always end, and no page can stall Redis: real crawler processes against hostile fixture sites
on loopback (``tests.support.sites.hostile``), a real Redis whose SLOWLOG is read."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from flask.testing import FlaskClient

from linkpatrol.model.options import CrawlOptions
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_ended

Factory = Callable[..., CrawlerProcess]
HUGE_LINKS = 300_000
CAP = 2_000
# Commands of the test process itself, not of the crawl.
OWN_COMMANDS = {"FLUSHALL", "SLOWLOG", "CONFIG", "KEYS", "HGETALL", "SCAN", "DEL", "UNLINK"}


@pytest.fixture(scope="module")
def hostile() -> Iterator[SiteServer]:
    server = SiteServer("hostile", str(HUGE_LINKS))
    yield server
    server.stop()


def report_text(client: FlaskClient, crawl_id: str) -> str:
    resp = client.get(f"/crawls/{crawl_id}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_a_page_of_300000_links_is_capped_and_no_redis_call_is_slow(
    store: CrawlStore, crawlers: Factory, hostile: SiteServer, rclient: redis.Redis, client: FlaskClient
) -> None:
    # 50 ms (in microseconds): a LINKS call of 50 links takes about 1 ms, and one call carrying the whole
    # page took seconds. The margin is for a loaded 2-core machine, where Redis itself is preempted
    # mid-command: a one-member ZADD and a POP of 23 were logged at 10-12 ms there.
    rclient.config_set("slowlog-log-slower-than", 50_000)
    rclient.slowlog_reset()
    procs = [crawlers({"LINKPATROL_MAX_LINKS_PER_PAGE": str(CAP)}) for _ in range(2)]
    crawl = wait_ended(store, store.create(hostile.url("huge")).id, timeout=240)
    slow = [e for e in rclient.slowlog_get(128)
            if str(e["command"], "utf-8", "replace").split(" ", 1)[0].upper() not in OWN_COMMANDS]
    assert slow == [], [(e["duration"], str(e["command"])[:80]) for e in slow]

    assert crawl.state == "finished"
    assert crawl.counters["links_over_cap"] == HUGE_LINKS - CAP
    assert crawl.links_checked == CAP + 1  # the page and the links it was allowed
    reason = (f"{HUGE_LINKS - CAP:,} links not followed: page {hostile.url('huge')} had more than the "
              f"per-page cap of {CAP:,} distinct targets")
    assert reason in crawl.stop_reasons
    assert reason in report_text(client, crawl.id)
    assert reason in client.get(f"/api/crawls/{crawl.id}").json["stop_reasons"]
    assert all(p.process.poll() is None for p in procs)


def test_a_calendar_trap_is_held_back_and_the_crawl_ends(
    store: CrawlStore, crawlers: Factory, hostile: SiteServer, client: FlaskClient
) -> None:
    crawlers({"LINKPATROL_TRAP_IDS": "40"})
    crawl = wait_ended(store, store.create(hostile.url("calendar")).id, timeout=120)
    assert crawl.state == "finished"
    # /day/1 is found from the home page; /day/2 ... /day/41 are the 40 followed from a /day/ page;
    # /day/42 is checked, not crawled, and counted.
    assert crawl.pages_crawled == 42
    assert crawl.counters["trap_held"] == 1
    assert store.result(crawl.id, hostile.url("calendar", "/day/42")) is not None
    assert store.result(crawl.id, hostile.url("calendar", "/day/43")) is None
    reason = "possible crawl trap under /day/ (the same page under ever new numbers): 1 url held back"
    assert any(r.startswith(reason) for r in crawl.stop_reasons), crawl.stop_reasons
    assert reason in report_text(client, crawl.id)
    assert any(r.startswith(reason) for r in client.get(f"/api/crawls/{crawl.id}").json["stop_reasons"])


def test_repeating_paths_and_growing_queries_are_held_back(
    store: CrawlStore, crawlers: Factory, hostile: SiteServer, client: FlaskClient
) -> None:
    crawlers()
    crawl = wait_ended(store, store.create(hostile.url("maze")).id, timeout=120)
    assert crawl.state == "finished"
    held = crawl.counters["trap_held"]
    # /x/ with a/ and b/ below it: every path of at most 2 a's and 2 b's is crawled (1 + 2 + 4 + 6 + 6
    # pages); a link that would add a third a or b is held back (2 from aa and bb, 1 from each of the 6
    # pages of length 3, both from each of the 6 of length 4); /s, ?f=1, ?f=1&f=1 are crawled and
    # ?f=1&f=1&f=1 held back.
    assert held == 2 + 6 + 12 + 1
    assert crawl.pages_crawled == 1 + 19 + 3 + 1  # home, the maze, the search chain, /ok
    assert store.result(crawl.id, hostile.url("maze", "/x/a/a/a/")) is not None  # checked, not dropped
    assert store.result(crawl.id, hostile.url("maze", "/x/a/a/a/a/")) is None  # never crawled
    # The first trap found is named (the maze's or the search's, whichever came first); all are counted.
    under = crawl.limits["trap_under"]
    assert under == "/s?" or under.startswith("/x/"), under  # "/x/a/" for /x/a/a/a/...
    reason = f"possible crawl trap under {under}"
    assert len(crawl.stop_reasons) == 1 and crawl.stop_reasons[0].startswith(reason)
    assert f"{held:,} urls held back" in crawl.stop_reasons[0]
    page = report_text(client, crawl.id)
    assert reason in page and f"{held:,} urls held back" in page


def test_the_page_budget_and_the_time_limit_stop_a_calendar(
    store: CrawlStore, crawlers: Factory, hostile: SiteServer, client: FlaskClient
) -> None:
    # The crawlers' defaults apply to a crawl that sets no limit: the page budget here.
    crawlers({"LINKPATROL_TRAP_IDS": "0", "LINKPATROL_MAX_PAGES": "30"})
    budget = wait_ended(store, store.create(hostile.url("calendar")).id, timeout=120)
    assert budget.options.max_pages == 30 and budget.pages_crawled == 30
    assert "page budget reached (30 pages): further pages were checked, not crawled" in budget.stop_reasons
    assert "page budget reached (30 pages)" in report_text(client, budget.id)
    api = client.get(f"/api/crawls/{budget.id}").json
    assert api["options"]["max_pages"] == 30 and any("page budget" in r for r in api["stop_reasons"])

    # Its own time limit, with no page budget, no depth limit a crawler reaches in two seconds (a chain
    # of 100 pages takes it well under one) and no trap detection: stopped after two seconds.
    options = CrawlOptions(max_duration=2, max_pages=1_000_000, max_depth=1_000_000)
    timed = wait_ended(store, store.create(hostile.url("calendar"), options).id, timeout=60)
    assert timed.state == "finished"
    assert timed.options.max_duration == 2
    assert timed.pages_crawled > 30  # it did run
    assert timed.finished_at is not None and timed.started_at is not None
    assert 2 <= timed.finished_at - timed.started_at < 10
    assert "time limit reached (2s): the crawl was stopped" in timed.stop_reasons
    assert "time limit reached" in report_text(client, timed.id)


def test_the_depth_limit_is_said_on_the_report(
    store: CrawlStore, crawlers: Factory, hostile: SiteServer, client: FlaskClient
) -> None:
    crawlers({"LINKPATROL_TRAP_IDS": "0"})
    crawl = wait_ended(store, store.create(hostile.url("calendar"), CrawlOptions(max_depth=5)).id, timeout=60)
    assert crawl.pages_crawled == 6  # /, /day/1 ... /day/5
    assert "depth limit reached (depth 5): deeper pages were checked, not crawled" in crawl.stop_reasons
    assert "depth limit reached (depth 5)" in report_text(client, crawl.id)
