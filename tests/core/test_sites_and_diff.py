"""Sites (a seed url's crawl history), what changed between two crawls of a site, and retention."""

from __future__ import annotations

import json

import redis

from linkpatrol.config import Config
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.records import Crawl
from linkpatrol.model.verdicts import ErrorKind, Outcome
from linkpatrol.model.wire import LinkResult
from linkpatrol.reports.diff import diff
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.watch.notify_when import skip_reason
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.start_messages import handle_start_message

SITE = "https://site.example/"
OTHER = "https://other.example/"


def pages(seed: str, results: dict[str, LinkResult]) -> dict[str, FakePage]:
    """A home page linking to every url of ``results`` (each answering as given)."""
    out = {url: FakePage(res) for url, res in results.items()}
    out[seed] = FakePage(LinkResult(seed, "ok", 200), [(url, f"to {url}") for url in results], True)
    return out


def dead(url: str) -> LinkResult:
    return LinkResult(url, Outcome.DEAD, 404)


def crawl_of(store: CrawlStore, results: dict[str, LinkResult], seed: str = SITE) -> Crawl:
    done = run_crawl(store, seed, pages(seed, results))
    assert done.state == "finished"
    return done


def start_by_message(redis_url: str, url: str, keep: int = 30) -> str:
    """A crawl started from a start message by the crawler's start queue, with its retention."""
    sync = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        crawl_id = handle_start_message(redis_url, json.dumps({"url": url}), CrawlStore(sync, keep_crawls=keep))
    finally:
        sync.close()
    assert crawl_id is not None
    return crawl_id


def test_both_ways_of_creating_a_crawl_register_its_site(redis_url: str, store: CrawlStore) -> None:
    first = store.create(SITE)
    other = store.create("https://OTHER.example")  # normalised: the site is the seed as stored
    by_message = start_by_message(redis_url, SITE)
    sites = store.sites()
    assert [s.url for s in sites] == [SITE, OTHER]
    assert sites[0].crawls == 2 and sites[0].last is not None and sites[0].last.id == by_message
    assert sites[0].state == "running" and sites[1].crawls == 1  # the message's crawl was seeded
    assert [c.id for c in store.site_crawls(SITE)] == [by_message, first.id]
    assert [c.id for c in store.site_crawls(OTHER)] == [other.id]
    assert store.site_count() == 2 and store.site_crawl_count(SITE) == 2


def test_delete_removes_the_crawl_from_its_site_and_the_site_with_its_last_crawl(store: CrawlStore,
                                                                                 rclient: redis.Redis) -> None:
    old = crawl_of(store, {f"{SITE}a": dead(f"{SITE}a")})
    new = crawl_of(store, {})
    assert store.delete(new.id)
    [site] = store.sites()
    assert site.crawls == 1 and site.last is not None and site.last.id == old.id
    assert rclient.zscore(Keys().sites, SITE) == old.created_at  # the last crawl time went back
    assert store.delete(old.id)
    assert store.sites() == [] and store.site_crawls(SITE) == []
    assert not rclient.exists(Keys().site_crawls(SITE))


def test_previous_ended_skips_cancelled_running_and_other_sites(store: CrawlStore) -> None:
    finished = crawl_of(store, {})
    crawl_of(store, {}, seed=OTHER)
    cancelled = store.create(SITE)
    store.cancel(cancelled.id)
    running = store.create(SITE)
    latest = crawl_of(store, {})
    assert store.previous_ended(latest) == finished
    assert store.previous_ended(running) == finished
    assert store.previous_ended(finished) is None


def test_diff_new_fixed_and_still_across_outcomes(store: CrawlStore) -> None:
    first = crawl_of(store, {
        f"{SITE}gone": dead(f"{SITE}gone"),  # still dead
        f"{SITE}fixed": dead(f"{SITE}fixed"),  # ok next time
        f"{SITE}removed": dead(f"{SITE}removed"),  # no longer linked from the (re-read) home page
        "https://x.example/wall": LinkResult("https://x.example/wall", Outcome.BLOCKED, 403, external=True),
    })
    assert diff(store, first).previous is None
    second = crawl_of(store, {
        f"{SITE}gone": dead(f"{SITE}gone"),
        f"{SITE}fixed": LinkResult(f"{SITE}fixed", Outcome.OK, 200),
        f"{SITE}new": dead(f"{SITE}new"),
        # blocked, now dead: new as dead; the blocked one is not fixed (the link still does not work)
        "https://x.example/wall": LinkResult("https://x.example/wall", Outcome.DEAD, error=ErrorKind.DNS,
                                             external=True),
        f"{SITE}slow": LinkResult(f"{SITE}slow", Outcome.RATE_LIMITED, 429),
    })
    changes = diff(store, second, referrers=None)
    assert changes.previous == first
    assert [(r.url, r.outcome) for r in changes.new] == [
        (f"{SITE}new", "dead"), (f"{SITE}slow", "rate_limited"), ("https://x.example/wall", "dead")]
    assert [(r.url, r.outcome) for r in changes.fixed] == [(f"{SITE}fixed", "dead"), (f"{SITE}removed", "dead")]
    assert changes.removed == {(f"{SITE}removed", "dead")}
    assert [(r.url, r.outcome) for r in changes.still] == [(f"{SITE}gone", "dead")]
    assert changes.unchecked == [] and changes.option_changes == [] and changes.caveat == ""
    assert changes.new_failing == 2 and changes.fixed_failing == 2
    assert Outcome.BLOCKED not in changes.by_outcome()  # nothing blocked now, and the old one not fixed
    # referrers: the new ones from this crawl, the fixed ones from the previous one
    assert changes.new[0].referrers[0].page == SITE and changes.fixed[0].referrer_count == 1
    assert diff(store, second).new[0].referrers == []  # not read unless asked for


def test_diff_with_other_options_compares_like_with_like(store: CrawlStore) -> None:
    """Three crawls with links to other sites checked, then one without: their dead links are "not
    checked this time", never fixed, and the diff names the option that changed."""
    externals = {f"https://ext{i}.example/": LinkResult(f"https://ext{i}.example/", Outcome.DEAD, error=ErrorKind.DNS,
                                                        external=True) for i in range(5)}
    page = f"{SITE}page"

    def site(results: dict[str, LinkResult], ids: set[str]) -> dict[str, FakePage]:
        out = pages(SITE, results)
        out[SITE].links.append((f"{page}#top", "to the top"))
        out[page] = FakePage(LinkResult(page, "ok", 200), [], True, anchors=ids)
        return out

    for _ in range(3):
        wide = run_crawl(store, SITE, site({**externals, f"{SITE}old": dead(f"{SITE}old"),
                                            f"{SITE}later": dead(f"{SITE}later")}, set()))
    assert wide.outcome_count(Outcome.MISSING_ANCHOR) == 1 and wide.dead == 7
    # The crawler leaves links to other sites out entirely when check_external is off: so does this crawl.
    narrow = run_crawl(store, SITE, site({f"{SITE}old": dead(f"{SITE}old"),
                                          f"{SITE}later": LinkResult(f"{SITE}later", "ok", 200)}, {"top"}),
                       CrawlOptions(check_external=False, exclude=["/private/"]))
    changes = diff(store, narrow)
    assert changes.option_changes == ["links to other sites: checked before, not checked now",
                                      "exclude patterns: none before, /private/ now"]
    assert [r.url for r in changes.fixed] == [f"{SITE}later", f"{SITE}page#top"]  # checked, and working
    assert [r.url for r in changes.unchecked] == sorted(externals)
    assert changes.fixed_failing == 2 and changes.unchecked_failing == 5 and changes.new_failing == 0
    assert changes.by_outcome()[Outcome.DEAD] == {"new": 0, "fixed": 1, "still": 1, "unchecked": 5}
    assert "links to other sites: checked before, not checked now" in changes.caveat
    assert "5 dead links or missing anchors of the previous crawl were not checked this time" in changes.caveat
    # notify_when: changes follows the same rule: nothing new, and only what was found working is fixed
    assert skip_reason(narrow, changes, narrow.dead) == ""  # two real fixes: a mail is due
    again = run_crawl(store, SITE, site({f"{SITE}old": dead(f"{SITE}old")}, {"top"}),
                      CrawlOptions(check_external=False, exclude=["/private/"], notify_when="changes"))
    assert skip_reason(again, diff(store, again), again.dead).startswith("notify_when is changes: no dead link")


def test_retention_keeps_the_newest_n_and_never_an_active_crawl(redis_url: str, rclient: redis.Redis) -> None:
    store = CrawlStore(rclient, keep_crawls=3)
    oldest_running = store.create(SITE)  # queued forever: never deleted
    ended = [crawl_of(store, {f"{SITE}{i}": dead(f"{SITE}{i}")}) for i in range(4)]
    other = crawl_of(store, {}, seed=OTHER)
    assert [c.id for c in store.site_crawls(SITE)] == [ended[3].id, ended[2].id, ended[1].id, oldest_running.id]
    assert store.get(ended[0].id) is None  # the oldest ended crawl went with every key
    assert not list(rclient.scan_iter(match=f"lp:crawl:{ended[0].id}*"))
    assert store.get(other.id) is not None
    by_message = start_by_message(redis_url, SITE, keep=3)  # the start queue's path prunes too
    assert [c.id for c in store.site_crawls(SITE)] == [by_message, ended[3].id, ended[2].id, oldest_running.id]
    assert store.get(ended[1].id) is None and store.get(oldest_running.id) is not None
    assert not list(rclient.scan_iter(match=f"lp:crawl:{ended[1].id}*"))
    assert ended[1].id not in rclient.zrange(Keys().crawls, 0, -1)


def test_keep_zero_keeps_every_crawl(rclient: redis.Redis) -> None:
    store = CrawlStore(rclient, keep_crawls=0)
    for _ in range(3):
        crawl_of(store, {})
    assert store.site_crawl_count(SITE) == 3


def test_keep_crawls_setting() -> None:
    assert Config.from_env({}).keep_crawls == 30
    assert Config.from_env({"LINKPATROL_KEEP_CRAWLS": "0"}).keep_crawls == 0
