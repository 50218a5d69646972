"""The frontier's bounded calls and the crawl's limits, straight through ``linkpatrol.frontier.Scripts``
against the private Redis: LINKS batches, the per-page cap, trap detection, STOP and SEED's defaults."""

from __future__ import annotations

import json
import re

import pytest

from linkpatrol.cli.check.reports import Report, summary
from linkpatrol.frontier import LINK_BATCH, CrawlLimits, Scripts
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import Completion, FoundLink, FrontierMessage, LinkResult, MessageKind, Referrer
from linkpatrol.reports.summary import crawl_summary
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.frontier import NOW, SITE, Client


def started(store: CrawlStore, rclient: Client, scripts: Scripts, options: CrawlOptions | None = None,
            path: str = "/") -> str:
    crawl = store.create(SITE + path, options)
    assert rclient.lpop(store.keys.start) is not None
    assert scripts.seed(crawl.id, SITE + path, NOW) == 1
    assert len(scripts.pop(crawl.id, 1, "w0")) == 1
    return crawl.id


def page(path: str, depth: int = 1, text: str = "a link", on: str = "/", anchor: str = "") -> FoundLink:
    url = SITE + path
    return FoundLink(url, FrontierMessage(url, MessageKind.PAGE, depth), Referrer(SITE + on, text, "a", anchor),
                     anchor)


def result(path: str, outcome: Outcome = Outcome.OK) -> LinkResult:
    return LinkResult(SITE + path, outcome, status=200)


def complete(scripts: Scripts, done: Completion, id_limit: int = 0) -> int:
    return int(scripts.complete(done, now=NOW + 1, max_referrers=10, id_limit=id_limit))


def queued_urls(rclient: Client, keys: Keys, crawl_id: str) -> list[tuple[str, str]]:
    return [(m["u"], m["k"]) for m in map(json.loads, rclient.lrange(keys.queue(crawl_id), 0, -1))]


def test_a_page_of_many_links_goes_in_bounded_calls(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                    keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    links = [page(f"/p/{i}", text=f"link {i}") for i in range(1000)]
    done = Completion(crawl_id, result("/"), True, links)
    steps = scripts.completion_steps(done, now=NOW, max_referrers=10)
    assert len(steps) == 1000 // LINK_BATCH + 1  # LINKS calls, then COMPLETE
    rclient.config_set("slowlog-log-slower-than", 0)
    rclient.config_set("slowlog-max-len", 100_000)  # the commands the scripts run are logged too
    rclient.slowlog_reset()
    for step in steps:
        step()
    # Every script call of ours carries at most a batch: SLOWLOG shows its first 31 arguments and
    # "... (N more arguments)".
    commands = [e["command"].decode("utf-8", "replace") for e in rclient.slowlog_get(100_000)]
    rclient.config_set("slowlog-log-slower-than", 10_000)
    calls = [c for c in commands if c.startswith("EVALSHA")]
    sizes = [31 + int(m.group(1)) if (m := re.search(r"\((\d+) more arguments\)", c)) else 31 for c in calls]
    assert len(calls) >= len(steps) and max(sizes) <= 6 * LINK_BATCH + 8 + 12 + 2  # (+ NOSCRIPT first tries)
    assert [u for u, _ in queued_urls(rclient, keys, crawl_id)] == [SITE + f"/p/{i}" for i in range(1000)]
    assert store.require(crawl_id).links_checked == 1
    # Sent again (a retry after a lost reply, a page redone after its worker was thought dead): nothing
    # is queued or counted twice.
    for step in steps:
        step()
    assert len(queued_urls(rclient, keys, crawl_id)) == 1000
    assert store.require(crawl_id).links_checked == 1
    assert rclient.llen(keys.refs(crawl_id, SITE + "/p/7")) == 1


def test_links_past_the_cap_are_counted_and_named(store: CrawlStore, rclient: Client, scripts: Scripts) -> None:
    crawl_id = started(store, rclient, scripts)
    assert complete(scripts, Completion(crawl_id, result("/"), True, [page("/a")], links_over_cap=490_000,
                                                 link_cap=10_000)) == 1
    crawl = store.require(crawl_id)
    assert crawl.counters["links_over_cap"] == 490_000
    assert crawl.stop_reasons == [
        f"490,000 links not followed: page {SITE}/ had more than the per-page cap of 10,000 distinct targets"]
    assert crawl_summary(crawl)["stop_reasons"] == crawl.stop_reasons  # the API's crawl JSON
    # A second page over the cap: both named with their own counts, not one page standing for all.
    assert scripts.pop(crawl_id, 1, "w0")
    assert complete(scripts, Completion(crawl_id, result("/a"), True, [], links_over_cap=20, link_cap=10_000)) == 2
    crawl = store.require(crawl_id)
    assert crawl.counters["links_over_cap"] == 490_020 and crawl.counters["links_over_cap_pages"] == 2
    assert store.over_cap_pages(crawl_id) == [(f"{SITE}/", 490_000), (f"{SITE}/a", 20)]
    assert crawl.stop_reasons == [f"490,020 links not followed on 2 pages over the per-page cap of 10,000 distinct "
                                  f"targets (the first: {SITE}/; the report lists each page)"]


def test_a_chain_of_ids_is_held_back_past_the_threshold(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                        keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    complete(scripts, Completion(crawl_id, result("/"), True, [page("/day/1")]), id_limit=2)
    for n in (1, 2, 3):
        assert scripts.pop(crawl_id, 1, "w0")
        complete(scripts, Completion(crawl_id, result(f"/day/{n}"), True, [page(f"/day/{n + 1}", depth=n + 1)]),
                 id_limit=2)
    # /day/2 and /day/3 are followed (found on a /day/ page: counted 1 and 2); /day/4 is the third.
    assert queued_urls(rclient, keys, crawl_id) == [(SITE + "/day/4", "check")]
    crawl = store.require(crawl_id)
    assert crawl.counters["trap_held"] == 1
    assert crawl.stop_reasons == ["possible crawl trap under /day/ (the same page under ever new numbers): "
                                  "1 url held back (checked, not crawled)"]
    # It answers HTML and is parsed like any in-scope check, but it is not a page of the crawl: its
    # links are not queued and it takes no place among the pages.
    assert scripts.pop(crawl_id, 1, "w0")
    held = Completion(crawl_id, result("/day/4"), True, [page("/day/5", depth=5)], promoted=True)
    assert complete(scripts, held, id_limit=2) == 2  # the last url: the crawl ends
    crawl = store.require(crawl_id)
    assert crawl.pages_crawled == 4 and crawl.state == "finished"
    assert rclient.hget(keys.urls(crawl_id), SITE + "/day/5") is None
    assert "limit_pages" not in crawl.limits


def test_a_catalogue_is_not_a_trap(store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    links = [page(f"/product/{i}") for i in range(10)]  # listed by a page of another shape
    complete(scripts, Completion(crawl_id, result("/"), True, links), id_limit=2)
    assert [k for _, k in queued_urls(rclient, keys, crawl_id)] == ["page"] * 10
    assert store.require(crawl_id).counters["trap_held"] == 0


@pytest.mark.parametrize(("path", "under"), [("/a/b/a/b/a/b/", "/a/b/"), ("/s?f=1&f=1&f=1", "/s?")])
def test_a_trap_by_its_shape_is_held_back(store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys,
                                          path: str, under: str) -> None:
    crawl_id = started(store, rclient, scripts)
    complete(scripts, Completion(crawl_id, result("/"), True, [page(path), page("/fine")]))
    assert queued_urls(rclient, keys, crawl_id) == [(SITE + path, "check"), (SITE + "/fine", "page")]
    crawl = store.require(crawl_id)
    assert crawl.counters["trap_held"] == 1 and crawl.limits["trap_under"] == under


def test_the_page_budget_is_said(store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts, CrawlOptions(max_pages=2))
    complete(scripts, Completion(crawl_id, result("/"), True, [page("/a"), page("/b"), page("/c")]))
    assert [k for _, k in queued_urls(rclient, keys, crawl_id)] == ["page", "check", "check"]
    assert store.require(crawl_id).stop_reasons == [
        "page budget reached (2 pages): further pages were checked, not crawled"]


def test_stop_ends_a_running_crawl_with_its_reason(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                   keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts, CrawlOptions(max_duration=60, notify=["ops@example.org"]))
    complete(scripts, Completion(crawl_id, result("/"), True, [page("/a"), page("/b")]))
    assert scripts.pop(crawl_id, 1, "w0")  # /a in flight
    assert scripts.stop(crawl_id, NOW + 61) == 1
    assert scripts.stop(crawl_id, NOW + 62) == 0  # once
    crawl = store.require(crawl_id)
    assert crawl.state == "finished" and crawl.finished_at == NOW + 61
    assert rclient.llen(keys.queue(crawl_id)) == 0 and crawl_id not in rclient.smembers(keys.active)
    assert rclient.lrange(keys.ended_events, 0, -1) == [crawl_id]
    assert crawl.stop_reasons == ["time limit reached (1m): the crawl was stopped"]
    # The lease still out comes back: recorded, nothing queued.
    complete(scripts, Completion(crawl_id, result("/a"), True, [page("/c")]))
    assert store.result(crawl_id, SITE + "/a") is not None
    assert rclient.hget(keys.urls(crawl_id), SITE + "/c") is None


def test_seed_writes_the_defaults_a_crawl_left_unset(store: CrawlStore, rclient: Client, scripts: Scripts) -> None:
    crawl = store.create(SITE + "/", CrawlOptions(max_depth=3))
    limits = CrawlLimits(max_pages=500, max_depth=20, max_duration=3600)
    assert scripts.seed(crawl.id, crawl.url, NOW, limits.apply(crawl.options)) == 1
    seeded = store.require(crawl.id)
    assert (seeded.options.max_pages, seeded.options.max_depth, seeded.options.max_duration) == (500, 3, 3600)
    assert seeded.limits["max_pages"] == "500" and seeded.limits["max_duration"] == "3600"
    # The page budget the scripts read is the default one.
    assert rclient.hget(store.keys.crawl(crawl.id), "max_pages") == "500"
    # Zero means no limit.
    other = store.create(SITE + "/x", CrawlOptions())
    assert scripts.seed(other.id, other.url, NOW, CrawlLimits().apply(other.options)) == 1
    assert store.require(other.id).options.max_pages is None


def test_an_anchor_of_the_page_itself_is_checked_against_what_the_crawler_read(
    store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys
) -> None:
    crawl_id = started(store, rclient, scripts)
    links = [page("/", anchor="intro"), page("/", anchor="gone")]
    complete(scripts, Completion(crawl_id, result("/"), True, links, anchors={"intro"}))
    assert set(rclient.smembers(keys.problems(crawl_id))) == {SITE + "/#gone"}
    assert store.require(crawl_id).outcome_count(Outcome.MISSING_ANCHOR) == 1


def test_linkpatrol_check_says_why_in_its_summary(store: CrawlStore, rclient: Client, scripts: Scripts) -> None:
    crawl_id = started(store, rclient, scripts, CrawlOptions(max_pages=1))
    complete(scripts, Completion(crawl_id, result("/"), True, [page("/a")]))
    scripts.pop(crawl_id, 1, "w0")
    complete(scripts, Completion(crawl_id, result("/a"), False))
    crawl = store.require(crawl_id)
    text = summary(Report(crawl, [], (Outcome.DEAD,)))
    assert "note: page budget reached (1 page): further pages were checked, not crawled" in text
