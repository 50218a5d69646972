"""Compression bombs: ``make bench-bombs`` or ``python -m bench.bombs``.

Serves ``tests.support.sites.bombs`` (1 GB of zeros as gzip, deflate, br, zstd, nested gzip, a gzip
page whose Content-Length claims 5 GB, a stylesheet, a file checked by GET and a sitemap: 2 kB to 1 MB
each on the wire; a site whose robots.txt is a gzip bomb; for comparison, a page of 31 MB of zeros,
just under the default cap, gzip-encoded and not) and ``tests.support.sites.near_cap`` (32 such pages
linked from one page, gzip-encoded and not: the parse budget's case), crawls each site to its end with
a fresh crawler and Redis, and prints the crawler's RSS before the crawl, at its peak (psutil, sampled
every 10 ms), after it, and the kernel's high-water mark (VmHWM, Linux), with the verdicts.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_for

MB = 1 << 20
# (site module, site name, row label)
SITES = (("bombs", "main", "main"), ("bombs", "robots", "robots"), ("bombs", "near_gzip", "near_gzip"),
         ("bombs", "near_plain", "near_plain"), ("near_cap", "gzip", "32 gzip"), ("near_cap", "plain", "32 plain"))


def high_water_mark(pid: int) -> int | None:
    """The most RSS the process ever had (Linux's VmHWM), in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def crawl(store: CrawlStore, proc: psutil.Process, url: str) -> dict[str, Any]:
    rss0 = peak = proc.memory_info().rss
    started = time.monotonic()
    crawl_id = store.create(url).id
    while store.require(crawl_id).state not in ("finished", "cancelled"):
        peak = max(peak, proc.memory_info().rss)
        time.sleep(0.01)
    wall = time.monotonic() - started
    time.sleep(1.0)
    results = list(store.iter_results(crawl_id))
    return {
        "url": url,
        "seconds": wall,
        "rss_before": rss0 / MB,
        "peak": peak / MB,
        "after": proc.memory_info().rss / MB,
        "verdicts": Counter(f"{r.outcome}/{r.error or r.status}" for r in results),
    }


def run(workdir: Path, site: SiteServer, name: str, env: dict[str, str]) -> dict[str, Any]:
    """Crawl one site of ``site`` with a fresh crawler and a fresh Redis."""
    tag = f"{site.ports[name]}-{name}"
    server = RedisServer(workdir / f"redis-{tag}").start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    crawler = CrawlerProcess(server.url, workdir / f"crawler-{tag}.log",
                             {"LINKPATROL_LOG_LEVEL": "WARNING", "LINKPATROL_TIMEOUT": "20", **env})
    try:
        store = CrawlStore(client)
        wait_for(lambda: client.hlen("lp:workers") == 1, 60, what="crawler registered")
        proc = psutil.Process(crawler.pid)
        time.sleep(1.0)
        row = crawl(store, proc, site.url(name))
        row["hwm"] = (high_water_mark(crawler.pid) or 0) / MB
        return row
    finally:
        crawler.stop()
        client.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-page-size", type=int, default=None,
                        help="LINKPATROL_MAX_PAGE_SIZE in MB (default: the crawler's, 32)")
    parser.add_argument("--parse-budget", type=int, default=None,
                        help="LINKPATROL_PARSE_BUDGET_MB (default: the crawler's, 64)")
    parser.add_argument("--only", action="append", default=None, metavar="LABEL",
                        help="run only this row (repeatable): " + ", ".join(label for *_, label in SITES))
    args = parser.parse_args()
    env = {}
    if args.max_page_size is not None:
        env["LINKPATROL_MAX_PAGE_SIZE"] = str(args.max_page_size)
    if args.parse_budget is not None:
        env["LINKPATROL_PARSE_BUDGET_MB"] = str(args.parse_budget)
    rows = [row for row in SITES if args.only is None or row[2] in args.only]
    print(f"{'site':>10} {'seconds':>8} {'RSS before MB':>14} {'peak RSS MB':>12} {'RSS after MB':>13} "
          f"{'VmHWM MB':>9}  verdicts", flush=True)
    servers: dict[str, SiteServer] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for module, name, label in rows:
                if module not in servers:
                    servers[module] = SiteServer(module)
                r = run(Path(tmp), servers[module], name, env)
                verdicts = ", ".join(f"{k} x{v}" for k, v in sorted(r["verdicts"].items()))
                print(f"{label:>10} {r['seconds']:>8.1f} {r['rss_before']:>14.0f} {r['peak']:>12.0f} "
                      f"{r['after']:>13.0f} {r['hwm']:>9.0f}  {verdicts}", flush=True)
    finally:
        for server in servers.values():
            server.stop()

if __name__ == "__main__":
    main()
