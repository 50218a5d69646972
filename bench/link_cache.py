"""What the shared link cache costs: ``python -m bench.link_cache [--entries 20000] [--max 10000]``.

Writes ``--entries`` results of links to other sites (a url of about 60 characters, a 200 after one
redirect, as ``LinkCache.put`` writes them) into a private Redis with a count bound of ``--max``, and
prints the Redis memory per entry kept (the entry, its TTL and its place in the order), the entries
kept, and the time of a put (median and worst, over loopback).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.frontier.link_cache import LinkCache
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.connection import AsyncClient
from linkpatrol.store.keys import Keys


def result(n: int) -> LinkResult:
    url = f"https://docs.example-{n % 97}.org/reference/section-{n}/page.html"
    return LinkResult(url, Outcome.OK, status=200, final_url=url + "?v=2", redirects=[[url, 301]],
                      content_type="text/html", external=True)


async def fill(url: str, entries: int, max_entries: int) -> list[float]:
    client = AsyncClient.from_url(url, decode_responses=True)
    try:
        cache = LinkCache(client, Keys(), ttl=21_600, max_entries=max_entries)
        times = []
        for n in range(entries):
            started = time.perf_counter()
            await cache.put(result(n), "20261205-0900-abcd")
            times.append(time.perf_counter() - started)
        return times
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--max", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lp-bench-cache-") as tmp:
        server = RedisServer(Path(tmp) / "redis").start()
        client = redis.Redis.from_url(server.url, decode_responses=True)
        try:
            before = int(client.info("memory")["used_memory"])
            times = asyncio.run(fill(server.url, args.entries, args.max))
            used = int(client.info("memory")["used_memory"]) - before
            keys = Keys()
            kept = sum(1 for k in client.scan_iter(f"{keys.prefix}:linkcache:*", count=1000)
                       if k != keys.link_cache_order())
        finally:
            client.close()
            server.stop()
    expected = min(args.entries, args.max) if args.max > 0 else args.entries
    print(f"{args.entries:,} puts, bound {args.max:,}: {kept:,} entries kept (as bounded: {kept == expected}), "
          f"{used / max(1, kept):.0f} bytes of Redis memory each; "
          f"a put: median {statistics.median(times) * 1e3:.2f} ms, worst {max(times) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
