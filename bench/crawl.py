"""Crawl benchmark: ``make bench`` (2000 pages) or ``python -m bench.crawl --pages 20000``.

Generates a site of N pages with known dead links, serves it from an aiohttp server (real listen
backlog), starts a private Redis, and prints for 1 and 2 crawler processes: wall time from enqueue to
finished, pages/s, urls/s, CPU seconds of the crawlers, peak RSS per crawler, Redis memory per
discovered url, recall and precision against the truth; and the same site crawled by a plain
in-memory Scrapy spider as the reference.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import ROOT, CrawlerProcess, SiteServer, wait_for
from tests.support.sites import generated


def run_reference(url: str, loop: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.reference", url, loop], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_linkpatrol(site: SiteServer, pages: int, processes: int, workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = RedisServer(workdir / f"redis-{processes}").start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    store = CrawlStore(client)
    # The generated site is one chain of /p/N.html pages, the shape of a crawl trap: followed to the end here.
    env = {"LINKPATROL_LOG_LEVEL": "WARNING", "LINKPATROL_TIMEOUT": "10", "LINKPATROL_WORKER_TTL": "15",
           "LINKPATROL_TRAP_IDS": "0"}
    crawlers = [CrawlerProcess(server.url, workdir / f"crawler-{processes}-{i}.log", env) for i in range(processes)]
    try:
        wait_for(lambda: client.hlen("lp:workers") == processes, 60, what="crawlers registered")
        procs = [psutil.Process(c.pid) for c in crawlers]
        cpu0 = [sum(p.cpu_times()[:2]) for p in procs]
        others = [psutil.Process(site.process.pid), psutil.Process(server.process.pid)]  # type: ignore[union-attr]
        other0 = [sum(p.cpu_times()[:2]) for p in others]
        mem0 = int(client.info("memory")["used_memory"])
        peak = [0] * processes
        started = time.monotonic()
        crawl = store.create(site.url("main"))
        while store.require(crawl.id).state != "finished":
            for i, p in enumerate(procs):
                peak[i] = max(peak[i], p.memory_info().rss)
            time.sleep(0.05)
        wall = time.monotonic() - started
        cpu = sum(sum(p.cpu_times()[:2]) - c0 for p, c0 in zip(procs, cpu0, strict=True))
        site_cpu, redis_cpu = (sum(p.cpu_times()[:2]) - c0 for p, c0 in zip(others, other0, strict=True))
        done = store.require(crawl.id)
        mem1 = int(client.info("memory")["used_memory"])
        truth = set(generated.truth(site.ports["main"], pages))
        found = {r.url for r in store.problems(crawl.id)}
        return {
            "processes": processes,
            "seconds": wall,
            "pages": done.pages_crawled,
            "urls": done.links_checked,
            "pages_per_s": done.pages_crawled / wall,
            "urls_per_s": done.links_checked / wall,
            "cpu_s": cpu,
            "site_cpu_s": site_cpu,
            "redis_cpu_s": redis_cpu,
            "peak_rss_mb": max(peak) / 2**20,
            "redis_bytes_per_url": (mem1 - mem0) / max(1, done.links_checked),
            "recall": len(found & truth) / len(truth),
            "precision": len(found & truth) / max(1, len(found)),
            "exact": found == truth and done.links_checked == generated.expected_urls(pages),
        }
    finally:
        for c in crawlers:
            c.stop()
        client.close()
        server.stop()


def reference_row(site: SiteServer, pages: int, loop: str) -> dict[str, Any]:
    ref = run_reference(site.url("main"), loop)
    truth = set(generated.truth(site.ports["main"], pages))
    ref_dead = set(ref["dead"])
    name = "scrapy in-memory" + (", uvloop" if loop else ", asyncio loop")
    return {"processes": name, "seconds": ref["seconds"], "pages": ref["pages"],
            "urls": ref["urls"], "pages_per_s": ref["pages"] / ref["seconds"],
            "urls_per_s": ref["urls"] / ref["seconds"], "cpu_s": ref["cpu_s"], "peak_rss_mb": None,
            "redis_bytes_per_url": None, "recall": len(ref_dead & truth) / len(truth),
            "precision": len(ref_dead & truth) / max(1, len(ref_dead)), "exact": ref_dead == truth}


def site_redis(row: dict[str, Any]) -> str:
    if row.get("site_cpu_s") is None:
        return "-"
    return f"{row['site_cpu_s']:.1f} + {row['redis_cpu_s']:.1f}"


def median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time; ``exact`` only if every run was exact."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    row = dict(ordered[len(ordered) // 2])
    row["exact"] = all(r["exact"] for r in runs)
    row["spread"] = (ordered[0]["seconds"], ordered[-1]["seconds"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--processes", default="1,2", help="comma-separated crawler process counts")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each configuration; the median is shown")
    args = parser.parse_args()
    site = SiteServer("generated", str(args.pages), "0")
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="lp-bench-") as tmp:
            if not args.no_reference:
                # The plain spider with asyncio's loop, and with uvloop as linkpatrol runs: the second
                # row isolates what the Redis frontier costs.
                for loop in ("", "uvloop.Loop"):
                    rows.append(median([reference_row(site, args.pages, loop) for _ in range(args.repeat)]))
            for n in (int(x) for x in args.processes.split(",")):
                rows.append(median([run_linkpatrol(site, args.pages, n, Path(tmp) / f"run{i}")
                                    for i in range(args.repeat)]))
    finally:
        site.stop()
    print(f"\nsite: {args.pages} pages, {generated.expected_urls(args.pages)} urls, "
          f"{len(generated.truth(0, args.pages))} dead\n")
    print(f"median of {args.repeat} runs each; wall time range in brackets\n")
    head = ("crawler", "wall s", "pages/s", "urls/s", "CPU s", "site + Redis CPU s", "peak RSS MB", "Redis B/url",
            "recall", "precision")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        def f(v: Any, fmt: str) -> str:
            return "-" if v is None else format(v, fmt)
        name = r["processes"] if isinstance(r["processes"], str) else f"linkpatrol x{r['processes']}"
        lo, hi = r["spread"]
        print(f"| {name} | {r['seconds']:.2f} [{lo:.2f}-{hi:.2f}] | {r['pages_per_s']:.0f} | {r['urls_per_s']:.0f} | "
              f"{f(r['cpu_s'], '.1f')} | {site_redis(r)} | {f(r['peak_rss_mb'], '.0f')} | "
              f"{f(r['redis_bytes_per_url'], '.0f')} | "
              f"{r['recall']:.3f} | {r['precision']:.3f} |")
    one = next((r for r in rows if r["processes"] == 1), None)
    two = next((r for r in rows if r["processes"] == 2), None)
    for ref_row in (r for r in rows if isinstance(r["processes"], str)):
        if one:
            print(f"1 process vs {ref_row['processes']}: {one['seconds'] / ref_row['seconds']:.2f}x the time")
    if one and two:
        print(f"2 processes vs 1: {one['seconds'] / two['seconds']:.2f}x faster")
    print("exact results: " + ", ".join(f"{r['processes']}: {r['exact']}" for r in rows))


if __name__ == "__main__":
    main()
