"""A scrapy-redis user's habit: ``redis-cli lpush links:start_urls URL`` starts a crawl that is listed,
reported and finished like one started from the web form."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import redis

from linkpatrol.addresses import AddressPolicy
from linkpatrol.keys import Keys
from linkpatrol.store import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_ended, wait_for
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
    crawlers()
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
    assert "finished" in page and str(a.broken) in page


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
    assert store.r.lrange(store.keys.finished_events, 0, -1) == [crawl.id]
