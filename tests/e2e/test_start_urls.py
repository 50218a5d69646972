"""A scrapy-redis user's habit: ``redis-cli lpush links:start_urls URL`` starts a crawl that is listed,
reported and finished like one started from the web form."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

from linkpatrol.model.addresses import AddressPolicy
from linkpatrol.model.records import Crawl
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import list_crawlers
from tests.support.processes import CrawlerProcess, SiteServer, linkpatrol_cli, wait_ended, wait_for
from tests.support.sites import fixture
from tests.support.webapp import make_app

ROOT = Path(__file__).resolve().parents[2]
REDIS_CLI = ROOT / ".venv" / "bin" / "redis-cli"




def _report(store: CrawlStore, crawl_id: str) -> dict[str, tuple[object, str, set[tuple[str, str]]]]:
    return {r.url: (r.status if r.status is not None else r.error, r.outcome, {(x.page, x.text) for x in r.referrers})
            for r in store.problems(crawl_id, ("dead", "blocked", "rate_limited", "excluded", "unsupported"))}


def _lpush(redis_url: str, key: str, value: str) -> None:
    """Through the real redis-cli when there is one (the habit the issue names), else the client."""
    port = redis_url.rsplit(":", 1)[1].split("/", 1)[0]
    cli = str(REDIS_CLI) if REDIS_CLI.exists() else "redis-cli"
    try:
        subprocess.run([cli, "-p", port, "lpush", key, value], check=True, capture_output=True, timeout=10)
    except FileNotFoundError:
        redis.Redis.from_url(redis_url).lpush(key, value)


def test_lpush_a_url_gives_the_same_report_as_the_web_form(
    store: CrawlStore, crawlers: Callable[..., CrawlerProcess], site: SiteServer, refused_port: int, redis_url: str,
) -> None:
    crawlers({"LINKPATROL_LINK_CACHE_TTL": "0"})  # the second crawl checks as the first did, not from its results
    assert Keys().start == "links:start_urls"
    _lpush(redis_url, "links:start_urls", site.url("main"))
    pushed = wait_for(lambda: store.list(), 20, what="the crawl of the pushed URL to be listed")[0]
    wait_ended(store, pushed.id)

    client = make_app(redis_url, ADDRESS_POLICY=AddressPolicy(allow_private=True)).test_client()
    resp = client.post("/crawls", data={"url": site.url("main"), "respect_robots": "on", "check_external": "on",
                                        "sitemaps": "on"})
    assert resp.status_code == 303
    from_form = next(c for c in store.list() if c.id != pushed.id)
    wait_ended(store, from_form.id)

    truth = fixture.truth(site.ports, refused_port)
    assert _report(store, pushed.id) == _report(store, from_form.id) == truth
    a, b = store.require(pushed.id), store.require(from_form.id)
    assert a.url == b.url and a.counters == b.counters and a.options == b.options
    page = client.get(f"/crawls/{pushed.id}").get_data(as_text=True)
    assert "finished" in page and str(a.dead) in page


def test_a_json_start_message_carries_the_api_options(
    store: CrawlStore, crawlers: Callable[..., CrawlerProcess], site: SiteServer, redis_url: str,
) -> None:
    crawlers()
    _lpush(redis_url, "links:start_urls",
           json.dumps({"url": site.url("main"), "max_depth": 0, "check_external": False, "notify": ["a@b.example"]}))
    crawl = wait_for(lambda: store.list(), 20, what="the crawl to be listed")[0]
    wait_ended(store, crawl.id)
    done = store.require(crawl.id)
    assert done.options.max_depth == 0 and done.options.check_external is False
    assert done.options.notify == ["a@b.example"]
    assert done.pages_crawled == 1
    assert not any(r.external for r in store.iter_results(crawl.id))
    # The crawl asked for mail: its end is an event for the mail worker, as for any crawl.
    assert store.r.lrange(store.keys.ended_events, 0, -1) == [crawl.id]


def _started(store: CrawlStore, count: int) -> list[Crawl]:
    """The crawls, once there are ``count`` and a crawler started each (none left queued)."""
    crawls = store.list()
    return crawls if len(crawls) == count and all(c.state != "queued" for c in crawls) else []


def test_hostile_start_messages_never_hold_back_valid_ones(
    store: CrawlStore, crawlers: Callable[..., CrawlerProcess], site: SiteServer, redis_url: str,
    rclient: redis.Redis,
) -> None:
    """Five URLs and every kind of message no crawl can come from, pushed in one MULTI: the five crawls
    start and end, each bad message is a dead letter logged in one line, nothing stays claimed."""
    proc = crawlers()
    keys = Keys()
    valid = [json.dumps({"url": site.url("main", f"/?n={n}"), "max_depth": 0}) for n in range(5)]
    hostile: list[str | bytes] = [b"\xff\xfe bad bytes", "[" * 5000 + "]" * 5000, "http://x.example/" + "a" * 2**21,
                                  "42", "[1, 2]", "null"]
    pipe = redis.Redis.from_url(redis_url).pipeline(transaction=True)
    pipe.rpush(keys.start, *valid[:2], hostile[0], valid[2], *hostile[1:4], valid[3], *hostile[4:], valid[4])
    pipe.execute()

    crawls = wait_for(lambda: _started(store, 5), 60, what="five crawls started")
    assert sorted(c.url for c in crawls) == sorted(json.loads(v)["url"] for v in valid)
    wait_for(lambda: rclient.llen(keys.start_dead) == len(hostile), 20, what="every bad message a dead letter")
    assert rclient.llen(keys.start) == 0
    assert not [k for k in rclient.scan_iter(match=keys.start_claimed("*")) if rclient.llen(k)]
    rejected = [line for line in proc.output().splitlines() if "rejected (" in line]
    assert len(rejected) == len(hostile) and all(len(line) < 600 for line in rejected)
    assert "not UTF-8 text" in proc.output() and "nested more than" in proc.output()
    assert proc.process.poll() is None

    shown = linkpatrol_cli(redis_url, "start-queue", "dead")
    assert shown.returncode == 0
    assert len(shown.stdout.splitlines()) == len(hostile) and "not UTF-8 text" in shown.stdout


def test_claimed_lists_are_read_again_live_and_after_a_restart(
    store: CrawlStore, crawlers: Callable[..., CrawlerProcess], site: SiteServer, rclient: redis.Redis,
) -> None:
    keys = Keys()
    first = crawlers()
    (worker,) = wait_for(lambda: [w["id"] for w in list_crawlers(rclient, keys)], 60, what="the crawler registered")
    # A message in the claimed list of a live crawler (a batch it left halfway) is handled by its next round.
    rclient.rpush(keys.start_claimed(worker), json.dumps({"url": site.url("main", "/?live"), "max_depth": 0}))
    live = wait_for(lambda: _started(store, 1), 30, what="the claimed message's crawl")
    assert [c.url for c in live] == [site.url("main", "/?live")]

    # The crawler dies holding two claimed messages; another crawler list, of a crawler no registry
    # remembers, holds a third. A crawler that starts takes all three back: each starts one crawl.
    first.kill()
    held = [json.dumps({"url": site.url("main", f"/?held={n}"), "max_depth": 0}) for n in range(3)]
    rclient.rpush(keys.start_claimed(worker), *held[:2])
    rclient.rpush(keys.start_claimed("forgotten-1"), held[2])
    wait_for(lambda: not rclient.exists(keys.crawler_alive(worker)), 30, what="the dead crawler's heartbeat to expire")
    crawlers()
    crawls = wait_for(lambda: _started(store, 4), 60, what="the held messages' crawls started")
    assert sorted(c.url for c in crawls) == sorted([site.url("main", "/?live")] +
                                                   [json.loads(h)["url"] for h in held])
    time.sleep(2)  # a second handling would show up as a fifth crawl by now
    assert len(store.list()) == 4
    assert not [k for k in rclient.scan_iter(match=keys.start_claimed("*")) if rclient.llen(k)]
