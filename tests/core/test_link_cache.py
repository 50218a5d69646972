"""What the shared link cache keeps (``linkpatrol.frontier.link_cache``): only links to other sites
certainly alive, each for its TTL."""

from __future__ import annotations

import asyncio

import redis

from linkpatrol.frontier.link_cache import LinkCache, cacheable
from linkpatrol.model.verdicts import CheckMethod, ErrorKind, Outcome
from linkpatrol.model.wire import CachedCheck, LinkResult
from linkpatrol.store.connection import AsyncClient
from linkpatrol.store.keys import Keys

URL = "http://elsewhere.example/page"


def test_only_an_ok_2xx_decided_by_a_get_is_shared() -> None:
    ok = LinkResult(URL, Outcome.OK, status=200, external=True)
    assert cacheable(ok, CheckMethod.GET) and cacheable(ok, CheckMethod.HEAD_GET)
    assert not cacheable(ok, CheckMethod.HEAD)  # a HEAD believed
    assert not cacheable(ok, CheckMethod.CACHE)  # already a cached one
    assert not cacheable(LinkResult(URL, Outcome.OK, status=200), CheckMethod.GET)  # the crawled site's own
    assert not cacheable(LinkResult(URL, Outcome.OK, status=403, external=True), CheckMethod.GET)  # accepted
    for status, outcome in ((404, Outcome.DEAD), (429, Outcome.RATE_LIMITED), (503, Outcome.RATE_LIMITED),
                            (500, Outcome.DEAD), (401, Outcome.BLOCKED)):
        assert not cacheable(LinkResult(URL, outcome, status=status, external=True), CheckMethod.GET)
    for kind in (ErrorKind.TIMEOUT, ErrorKind.DNS, ErrorKind.REFUSED, ErrorKind.TOO_LARGE):
        assert not cacheable(LinkResult(URL, kind.outcome, error=kind, external=True), CheckMethod.GET)


def test_an_entry_reads_back_until_its_ttl(redis_url: str, rclient: redis.Redis) -> None:
    keys = Keys()
    moved = LinkResult(URL, Outcome.OK, status=200, final_url=URL + "/", redirects=[[URL, 301]],
                       content_type="text/html", external=True)

    async def run() -> tuple[CachedCheck | None, CachedCheck | None]:
        client = AsyncClient.from_url(redis_url, decode_responses=True)
        try:
            cache = LinkCache(client, keys, ttl=60)
            await cache.put(moved, "c1", now=1_700_000_000.5)
            return await cache.get(URL), await cache.get(URL + "/other")
        finally:
            await client.aclose()

    found, other = asyncio.run(run())
    assert found == CachedCheck(moved, "c1", 1_700_000_000.5) and other is None
    assert 0 < rclient.ttl(keys.link_cache(URL)) <= 60


def test_the_cache_keeps_at_most_its_bound_the_oldest_written_dropped_first(redis_url: str,
                                                                            rclient: redis.Redis) -> None:
    keys = Keys()

    def ok(n: int) -> LinkResult:
        return LinkResult(f"{URL}/{n}", Outcome.OK, status=200, external=True)

    async def run() -> tuple[list[int], list[CachedCheck | None]]:
        clients = [AsyncClient.from_url(redis_url, decode_responses=True) for _ in range(4)]
        try:
            caches = [LinkCache(c, keys, ttl=60, max_entries=5) for c in clients]
            dropped = [await caches[0].put(ok(n), "c1", now=1_700_000_000.0 + n) for n in range(8)]
            await caches[1].put(ok(3), "c2", now=1_700_000_010.0)  # written again: the youngest now
            await caches[2].put(ok(8), "c2", now=1_700_000_011.0)
            # Four crawlers at once, 200 links: the bound holds whatever the interleaving.
            await asyncio.gather(*(caches[i % 4].put(ok(100 + i), "c3", now=1_700_000_020.0 + i) for i in range(200)))
            return dropped, [await caches[3].get(f"{URL}/{n}") for n in (3, 8, 296, 299)]
        finally:
            for c in clients:
                await c.aclose()

    # 0..7 written, 0..2 dropped one per put past 5; 3 written again is the youngest, so 8 drops 4.
    dropped, found = asyncio.run(run())
    assert dropped == [0] * 5 + [1] * 3
    entries = [k for k in rclient.scan_iter(f"{keys.prefix}:linkcache:*") if k != keys.link_cache_order()]
    assert len(entries) == 5 and rclient.zcard(keys.link_cache_order()) == 5
    assert sorted(rclient.zrange(keys.link_cache_order(), 0, -1)) == sorted(entries)
    assert found[:2] == [None, None]  # evicted by younger writes: the next crawl checks them again
    assert found[3] is not None and found[3].crawl_id == "c3" and found[3].at == 1_700_000_219.0


def test_a_re_written_entry_is_the_youngest_and_a_stale_one_is_dropped(redis_url: str,
                                                                     rclient: redis.Redis) -> None:
    keys = Keys()
    urls = [f"{URL}/{n}" for n in range(4)]

    async def run() -> list[CachedCheck | None]:
        client = AsyncClient.from_url(redis_url, decode_responses=True)
        try:
            cache = LinkCache(client, keys, ttl=60, max_entries=3)
            for n, url in enumerate(urls[:3]):
                await cache.put(LinkResult(url, Outcome.OK, status=200, external=True), "c1", now=1_700_000_000.0 + n)
            await cache.put(LinkResult(urls[0], Outcome.OK, status=200, external=True), "c2", now=1_700_000_005.0)
            await cache.put(LinkResult(urls[3], Outcome.OK, status=200, external=True), "c2", now=1_700_000_006.0)
            before = [await cache.get(u) for u in urls]
            # Written more than a TTL after the others: they are stale, dropped from the order and read as absent.
            await cache.put(LinkResult(URL, Outcome.OK, status=200, external=True), "c3", now=1_700_000_100.0)
            return before + [await cache.get(u) for u in urls]
        finally:
            await client.aclose()

    found = asyncio.run(run())
    assert [f is not None for f in found[:4]] == [True, False, True, True]  # /1, the oldest write, went
    assert found[4:] == [None] * 4 and rclient.zcard(keys.link_cache_order()) == 1


def test_without_a_count_bound_no_order_is_kept(redis_url: str, rclient: redis.Redis) -> None:
    keys = Keys()

    async def run() -> None:
        client = AsyncClient.from_url(redis_url, decode_responses=True)
        try:
            await LinkCache(client, keys, ttl=60, max_entries=0).put(
                LinkResult(URL, Outcome.OK, status=200, external=True), "c1")
        finally:
            await client.aclose()

    asyncio.run(run())
    assert rclient.exists(keys.link_cache(URL)) and not rclient.exists(keys.link_cache_order())
