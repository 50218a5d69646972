"""Schedule tick benchmark: ``python -m bench.schedules [--schedules N] [--tickers K]``.

Starts its own Redis, creates N hourly schedules (with request headers, as a real one may have), then
prints what a tick costs:

- an idle tick (nothing due), the one that runs every LINKPATROL_SCHEDULE_TICK seconds all day;
- a tick that fires all N schedules at once (N crawls created), alone;
- the same with K tickers racing on the same due times (K threads, own clients): the crawls created
  (must be N) and the WatchErrors retried;
- the Redis memory per schedule.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.model.options import parse_options
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.watch.schedules import ScheduleRequest, Schedules

T0 = 1_700_000_000.0
HOUR = 3600


def fresh(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    return client


def create(store: CrawlStore, n: int) -> None:
    options = parse_options({"max_pages": 100, "headers": {"Authorization": "Bearer x"}, "notify": ["a@b.example"]})
    sch = Schedules(store, 60)
    for i in range(n):
        sch.create(ScheduleRequest(f"https://site{i}.example/", options, HOUR, None), at=T0 + i * 0.001)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--tickers", type=int, default=4)
    args = parser.parse_args()
    n = args.schedules
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp), persistent=False).start()
        try:
            client = fresh(server.url)
            before = int(client.info("memory")["used_memory"])
            store = CrawlStore(client, keep_crawls=0)
            create(store, n)
            per_schedule = (int(client.info("memory")["used_memory"]) - before) / n
            sch = Schedules(store, 60)
            idle = []
            for _ in range(50):
                t = time.perf_counter()
                assert sch.run_due(at=T0 + 10) == []
                idle.append(time.perf_counter() - t)
            t = time.perf_counter()
            fired = sch.run_due(at=T0 + HOUR + 5)
            alone = time.perf_counter() - t
            assert len(fired) == n

            client = fresh(server.url)
            create(CrawlStore(client, keep_crawls=0), n)
            clients = [redis.Redis.from_url(server.url, decode_responses=True) for _ in range(args.tickers)]
            barrier = threading.Barrier(len(clients))
            started: list[int] = []

            def tick(c: redis.Redis) -> None:
                barrier.wait()
                started.append(sum(f.outcome == "started" for f in
                                   Schedules(CrawlStore(c, keep_crawls=0), 60).run_due(at=T0 + HOUR + 5)))

            threads = [threading.Thread(target=tick, args=(c,)) for c in clients]
            t = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            racing = time.perf_counter() - t
            crawls = client.zcard(store.keys.crawls)
            for c in clients:
                c.close()
        finally:
            server.stop()
    print(f"schedules: {n}")
    print(f"memory per schedule: {per_schedule:.0f} bytes (hash, secrets, 3 index entries)")
    print(f"idle tick (none due): median {statistics.median(idle) * 1000:.2f} ms, "
          f"max {max(idle) * 1000:.2f} ms over {len(idle)} ticks")
    print(f"tick firing all {n}: {alone:.2f} s, {alone / n * 1000:.2f} ms per crawl created")
    print(f"{args.tickers} racing tickers firing {n}: {racing:.2f} s; crawls created {crawls} "
          f"(each ticker: {sorted(started)})")
    assert crawls == n, "more than one crawl for a due time"


if __name__ == "__main__":
    main()
