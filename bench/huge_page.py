"""A page of hundreds of thousands of links: ``make bench-huge`` or ``python -m bench.huge_page --links 560000``.

Serves one page of N links (``tests.support.sites.hostile``: about 30 bytes a link, 16 MB for 560,000),
starts a private Redis and one crawler, crawls the page to its end, and prints: the longest Redis
command during the crawl (from SLOWLOG, every command over 0.2 ms logged), the number of commands over
1 ms, the crawler's RSS before the crawl and at its peak (psutil), the links taken and the links held
back by the per-page cap (LINKPATROL_MAX_LINKS_PER_PAGE, default 10,000; ``--cap`` to change it).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_for

SLOWLOG_US = 200  # microseconds: log every command longer than this


def run(links: int, cap: int | None, workdir: Path) -> dict[str, Any]:
    site = SiteServer("hostile", str(links))
    server = RedisServer(workdir / f"redis-{links}").start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    env = {"LINKPATROL_LOG_LEVEL": "WARNING", "LINKPATROL_TIMEOUT": "10"}
    if cap is not None:
        env["LINKPATROL_MAX_LINKS_PER_PAGE"] = str(cap)
    crawler = CrawlerProcess(server.url, workdir / f"crawler-{links}.log", env)
    try:
        store = CrawlStore(client)
        wait_for(lambda: client.hlen("lp:workers") == 1, 60, what="crawler registered")
        proc = psutil.Process(crawler.pid)
        time.sleep(1.0)
        rss0 = peak = proc.memory_info().rss
        client.config_set("slowlog-log-slower-than", SLOWLOG_US)
        client.config_set("slowlog-max-len", 100_000)
        client.slowlog_reset()
        started = time.monotonic()
        crawl = store.create(site.url("huge"))
        while store.require(crawl.id).state != "finished":
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.05)
        wall = time.monotonic() - started
        entries = [e for e in client.slowlog_get(100_000) if not str(e["command"]).startswith(("HGETALL", "SLOWLOG"))]
        done = store.require(crawl.id)
        longest = max(entries, key=lambda e: e["duration"], default=None)
        return {
            "links": links,
            "seconds": wall,
            "longest_ms": longest["duration"] / 1000 if longest else 0.0,
            "longest_cmd": str(longest["command"])[:60] if longest else f"none over {SLOWLOG_US} us",
            "over_1ms": sum(1 for e in entries if e["duration"] > 1000),
            "rss_before_mb": rss0 / 2**20,
            "peak_rss_mb": peak / 2**20,
            "checked": done.links_checked,
            "held_back": done.counters.get("links_over_cap", 0),
        }
    finally:
        crawler.stop()
        client.close()
        server.stop()
        site.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, action="append", help="links on the page (repeatable)")
    parser.add_argument("--cap", type=int, default=None, help="LINKPATROL_MAX_LINKS_PER_PAGE (default: the crawler's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'links':>8} {'seconds':>8} {'longest Redis ms':>17} {'>1 ms':>6} {'RSS before MB':>14} "
              f"{'peak RSS MB':>12} {'checked':>8} {'held back':>10}  longest command")
        for links in args.links or [560_000, 200_000]:
            r = run(links, args.cap, Path(tmp))
            print(f"{r['links']:>8,} {r['seconds']:>8.1f} {r['longest_ms']:>17.2f} {r['over_1ms']:>6} "
                  f"{r['rss_before_mb']:>14.0f} {r['peak_rss_mb']:>12.0f} {r['checked']:>8,} {r['held_back']:>10,}  "
                  f"{r['longest_cmd']}", flush=True)


if __name__ == "__main__":
    main()
