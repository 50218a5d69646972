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
