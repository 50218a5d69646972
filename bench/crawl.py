"""Crawl benchmark: ``make bench`` (2000 pages) or ``python -m bench.crawl --pages 20000``.

Generates a site of N pages with known dead links, serves it from an aiohttp server (real listen
backlog), starts a private Redis, and prints for 1 and 2 crawler processes: wall time from enqueue to
finished, pages/s, urls/s, CPU seconds of the crawlers, peak RSS per crawler, Redis memory per
discovered url, recall and precision against the truth; and the same site crawled by a plain
in-memory Scrapy spider as the reference, by linkinator (bench/linkinator.py: installed into
bench/.node/ with npm when node is there, else skipped) and by ``linkpatrol check``, both timed whole.
Every configuration runs once a turn, ``--repeat`` turns, so a busy minute of a shared machine falls
on all of them; the median is shown.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import redis

from bench import check as bench_check
from bench import linkinator
from linkpatrol.cli.check.services import default_crawlers
from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import ROOT, CrawlerProcess, SiteServer, wait_for
from tests.support.sites import generated

# The crawlers' settings for the generated site, which is one chain of /p/N.html pages, the shape of a
# crawl trap: followed to the end here (bench/profile.py crawls with the same).
CRAWLER_ENV = {"LINKPATROL_LOG_LEVEL": "WARNING", "LINKPATROL_TIMEOUT": "10", "LINKPATROL_WORKER_TTL": "15",
               "LINKPATROL_TRAP_IDS": "0"}


def run_reference(url: str, loop: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.reference", url, loop], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_linkpatrol(site: SiteServer, pages: int, processes: int, workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = RedisServer(workdir / f"redis-{processes}").start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    store = CrawlStore(client)
    crawlers = [CrawlerProcess(server.url, workdir / f"crawler-{processes}-{i}.log", CRAWLER_ENV)
                for i in range(processes)]
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
    return {"seconds": ref["seconds"], "pages": ref["pages"],
            "urls": ref["urls"], "pages_per_s": ref["pages"] / ref["seconds"],
            "urls_per_s": ref["urls"] / ref["seconds"], "cpu_s": ref["cpu_s"], "peak_rss_mb": None,
            "redis_bytes_per_url": None, "recall": len(ref_dead & truth) / len(truth),
            "precision": len(ref_dead & truth) / max(1, len(ref_dead)), "exact": ref_dead == truth}


def peer_row(found: set[str], urls: int, seconds: float, cpu_s: float | None, site: SiteServer,
             pages: int) -> dict[str, Any]:
    """A row for a command timed whole (linkinator, ``linkpatrol check``): start-up and exit included."""
    truth = set(generated.truth(site.ports["main"], pages))
    return {"seconds": seconds, "pages": None, "urls": urls, "pages_per_s": None, "urls_per_s": urls / seconds,
            "cpu_s": cpu_s, "peak_rss_mb": None, "redis_bytes_per_url": None,
            "recall": len(found & truth) / len(truth), "precision": len(found & truth) / max(1, len(found)),
            "exact": found == truth and urls == generated.expected_urls(pages)}


def linkinator_row(command: str, site: SiteServer, pages: int, *flags: str) -> dict[str, Any]:
    run = linkinator.run(command, site.url("main"), *flags)
    return peer_row(run["dead"], run["urls"], run["seconds"], run["cpu_s"], site, pages)


def check_row(site: SiteServer, pages: int) -> dict[str, Any]:
    """``linkpatrol check`` with its defaults (a private Redis, one crawler per CPU), timed from the
    command's start to its exit; CPU of the command and every process it started."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "LINKPATROL_ALLOW_PRIVATE")}
    env.update(bench_check.ENV, PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = bench_check.run_check(site.url("main"), env, "--allow-private")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return peer_row(run["dead"], run["urls"], run["wall"], cpu, site, pages)


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
    parser.add_argument("--no-peers", action="store_true", help="no linkinator and no `linkpatrol check` rows")
    parser.add_argument("--repeat", type=int, default=3, help="turns; each configuration runs once a turn, "
                                                              "the median is shown")
    args = parser.parse_args()
    runs: dict[str, Callable[[SiteServer, Path], dict[str, Any]]] = {}
    if not args.no_reference:
        # The plain spider with asyncio's loop, and with uvloop as linkpatrol runs: the second row
        # isolates what the Redis frontier costs.
        for loop in ("", "uvloop.Loop"):
            name = "scrapy in-memory" + (", uvloop" if loop else ", asyncio loop")
            runs[name] = lambda site, _, loop=loop: reference_row(site, args.pages, loop)  # type: ignore[misc]
    for n in (int(x) for x in args.processes.split(",")):
        runs[f"linkpatrol x{n}"] = lambda site, tmp, n=n: run_linkpatrol(site, args.pages, n, tmp)  # type: ignore[misc]
    command = None if args.no_peers else linkinator.ensure()
    if command:
        runs[f"linkinator {linkinator.version()}"] = lambda site, _: linkinator_row(command, site, args.pages)
        runs[f"linkinator {linkinator.version()}, --check-css --check-fragments"] = \
            lambda site, _: linkinator_row(command, site, args.pages, "--check-css", "--check-fragments")
    if not args.no_peers:
        runs[f"linkpatrol check ({default_crawlers()} crawlers, start and exit included)"] = \
            lambda site, _: check_row(site, args.pages)
    site = SiteServer("generated", str(args.pages), "0")
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
    try:
        with tempfile.TemporaryDirectory(prefix="lp-bench-") as tmp:
            # In turns (A, B, C, A, B, C...): the machine's drift and other work spread over every row.
            for turn in range(args.repeat):
                for name, run in runs.items():
                    results[name].append(run(site, Path(tmp) / f"turn{turn}-{len(results[name])}-{name[:12]}"))
    finally:
        site.stop()
    rows = {name: median(found) for name, found in results.items()}
    print(f"\nsite: {args.pages} pages, {generated.expected_urls(args.pages)} urls, "
          f"{len(generated.truth(0, args.pages))} dead\n")
    print(f"{args.repeat} turns, each configuration once a turn; the median, wall time range in brackets\n")
    head = ("crawler", "wall s", "pages/s", "urls/s", "CPU s", "site + Redis CPU s", "peak RSS MB", "Redis B/url",
            "recall", "precision")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, r in rows.items():
        def f(v: Any, fmt: str) -> str:
            return "-" if v is None else format(v, fmt)
        lo, hi = r["spread"]
        print(f"| {name} | {r['seconds']:.2f} [{lo:.2f}-{hi:.2f}] | {f(r['pages_per_s'], '.0f')} | "
              f"{r['urls_per_s']:.0f} | {f(r['cpu_s'], '.1f')} | {site_redis(r)} | {f(r['peak_rss_mb'], '.0f')} | "
              f"{f(r['redis_bytes_per_url'], '.0f')} | {r['recall']:.3f} | {r['precision']:.3f} |")
    print()
    one, two = rows.get("linkpatrol x1"), rows.get("linkpatrol x2")
    # Ratios within each turn (runs a minute apart), then their median: steadier than a ratio of medians
    # on a machine whose speed drifts.
    peers = [name for name in rows if name.startswith(("scrapy", "linkinator"))]
    for mine in ("linkpatrol x1", "linkpatrol x2", *(n for n in rows if n.startswith("linkpatrol check"))):
        for name in peers:
            if mine in rows:
                ratios = sorted(a["seconds"] / b["seconds"] for a, b in zip(results[mine], results[name], strict=True))
                print(f"{mine} vs {name}: {ratios[len(ratios) // 2]:.2f}x the time "
                      f"(median of the turns' ratios; {ratios[0]:.2f}-{ratios[-1]:.2f})")
    if one and two:
        print(f"2 processes vs 1: {one['seconds'] / two['seconds']:.2f}x faster")
    print("exact results: " + ", ".join(f"{name}: {r['exact']}" for name, r in rows.items()))


if __name__ == "__main__":
    main()
