"""The small stores beside the frontier's scripts that the crawler's components call
(``linkpatrol/frontier/leases.py``, ``host_verdicts.py``, ``running_crawls.py``, the registry's live
crawlers), against the test Redis: what a crawler finds of its leases, what it drops, what it gives back
when it must exit now."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from linkpatrol.frontier import Scripts
from linkpatrol.frontier.host_verdicts import HostVerdictStore
from linkpatrol.frontier.leases import LeaseStore, give_back_everything
from linkpatrol.frontier.running_crawls import RunningCrawls
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.verdicts import ErrorKind
from linkpatrol.store.connection import async_client
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import live_descriptions
from tests.support.frontier import NOW, SITE, Client, running

T = TypeVar("T")


def on_async_client(redis_url: str, body: Callable[[Any], Awaitable[T]]) -> T:
    async def run() -> T:
        client = async_client(redis_url)
        try:
            return await body(client)
        finally:
            await client.aclose()
    return asyncio.run(run())


def test_a_crawler_finds_its_own_leases_renews_and_drops_them(redis_url: str, store: CrawlStore, rclient: Client,
                                                              scripts: Scripts, keys: Keys) -> None:
    crawl_id = running(store, rclient, scripts, ("/a", "/b", "/c"))
    scripts.pop(crawl_id, 2, "c1", NOW)
    scripts.pop(crawl_id, 1, "c1x", NOW)  # a crawler whose id starts like c1's holds nothing of c1's
    mine = sorted(rclient.hkeys(keys.inflight(crawl_id)))[:2]

    async def body(client: Any) -> tuple[set[str], list[str], list[str]]:
        leases = LeaseStore(client, keys)
        active = await leases.active()
        held = sorted(await leases.held_by(crawl_id, "c1"))
        await leases.renew_clocks([(crawl_id, held[0]), (crawl_id, f"{SITE}/never-leased")], NOW + 60)
        await leases.drop(crawl_id, held[1])
        return active, held, sorted(await leases.held_by(crawl_id, "c1"))

    active, held, after = on_async_client(redis_url, body)
    assert crawl_id in active
    assert held == mine and after == [held[0]]
    assert rclient.zscore(keys.lease_clock(crawl_id), held[0]) == NOW + 60
    assert rclient.zscore(keys.lease_clock(crawl_id), f"{SITE}/never-leased") is None  # no clock started
    assert not rclient.hexists(keys.inflight(crawl_id), held[1])
    assert rclient.zscore(keys.lease_clock(crawl_id), held[1]) is None


def test_a_crawler_that_must_exit_now_gives_everything_back(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                            keys: Keys) -> None:
    crawl_id = running(store, rclient, scripts, ("/a", "/b"))
    scripts.pop(crawl_id, 2, "c1", NOW)
    rclient.rpush(keys.start_claimed("c1"), "https://claimed.example/")
    rclient.hset(keys.crawlers, "c1", "{}")
    rclient.set(keys.crawler_alive("c1"), "1")
    assert give_back_everything(rclient, keys, "c1") == 3
    assert rclient.hlen(keys.inflight(crawl_id)) == 0 and rclient.llen(keys.queue(crawl_id)) == 2
    assert rclient.lrange(keys.start, 0, -1) == ["https://claimed.example/"]
    assert not rclient.hexists(keys.crawlers, "c1") and not rclient.exists(keys.crawler_alive("c1"))


def test_host_verdicts_and_a_running_crawl_read_back(redis_url: str, store: CrawlStore, keys: Keys) -> None:
    crawl = store.create(f"{SITE}/", CrawlOptions(max_duration=60, headers={"Authorization": "Bearer s"}))

    async def body(client: Any) -> Any:
        verdicts = HostVerdictStore(client, keys)
        await verdicts.record(crawl.id, "gone.invalid", ErrorKind.DNS)
        return await verdicts.read([crawl.id, "no-such-crawl"]), await verdicts.read([]), \
            await RunningCrawls(client, keys).read(crawl.id)

    found, none, running_crawl = on_async_client(redis_url, body)
    assert found == {crawl.id: {"gone.invalid": ErrorKind.DNS}} and none == {}
    assert (running_crawl.url, running_crawl.host) == (f"{SITE}/", "site.example")
    assert running_crawl.options.max_duration == 60 and running_crawl.headers == {"Authorization": "Bearer s"}


def test_live_crawlers_as_the_render_reaper_reads_them(redis_url: str, rclient: Client, keys: Keys) -> None:
    for crawler, render, alive in (("r1", 2, True), ("r2", 1, False), ("n1", 0, True)):
        rclient.hset(keys.crawlers, crawler, json.dumps({"render": render}))
        if alive:
            rclient.set(keys.crawler_alive(crawler), "1")

    def renders(info: str) -> bool:
        return int(json.loads(info)["render"]) > 0

    found = on_async_client(redis_url, lambda client: live_descriptions(client, keys, renders))
    assert [json.loads(info) for info in found] == [{"render": 2}]  # r2's heartbeat expired, n1 renders nothing
