"""Re-check benchmark: ``make bench-recheck`` or ``python -m bench.recheck --pages 2000``.

The generated site with an ETag on every page (tests/support/sites/generated_etags.py), crawled by
one (or more) crawler processes three times in a row against one Redis: first, again unchanged, then
with 5% of its pages changed (a new ETag and one more dead link each). For each crawl: wall time from
enqueue to finished, the crawlers' CPU seconds, requests and body bytes the site served, pages that
answered 304, requests to the other host its pages link (robots.txt aside), and whether the dead links
found are exactly the site's; the median of ``--repeat`` runs
(each with a Redis of its own). ``--page-kb`` pads every page with text (real pages are tens of kB).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_for
from tests.support.sites import generated, generated_etags


def crawl_once(store: CrawlStore, site: SiteServer, procs: list[psutil.Process], pages: int,
               changed: list[int]) -> dict[str, Any]:
    cpu0 = sum(sum(p.cpu_times()[:2]) for p in procs)
    log0, ext0 = site.log("main"), len(site.log("ext")["log"])
    started = time.monotonic()
    crawl = store.create(site.url("main"))
    while store.require(crawl.id).state != "finished":
        time.sleep(0.05)
    wall = time.monotonic() - started
    cpu = sum(sum(p.cpu_times()[:2]) for p in procs) - cpu0
    log1 = site.log("main")
    entries = log1["log"][len(log0["log"]):]
    ext = [e for e in site.log("ext")["log"][ext0:] if e[2] != "/robots.txt"]
    done = store.require(crawl.id)
    found = {r.url for r in store.problems(crawl.id)}
    return {"seconds": wall, "cpu_s": cpu, "requests": len(entries), "bytes": log1["bytes"] - log0["bytes"],
            "not_modified": sum(1 for e in entries if e[3] == 304), "pages": done.pages_crawled, "other_host": len(ext),
            "exact": found == generated_etags.truth(site.ports["main"], pages, changed)}


def run(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="lp-recheck-") as tmp:
        versions = Path(tmp) / "versions.json"
        site = SiteServer("generated_etags", str(args.pages), str(versions), str(args.page_kb))
        server = RedisServer(Path(tmp) / "redis").start()
        client = redis.Redis.from_url(server.url, decode_responses=True)
        env = {"LINKPATROL_LOG_LEVEL": "WARNING", "LINKPATROL_TIMEOUT": "10", "LINKPATROL_WORKER_TTL": "15",
               "LINKPATROL_TRAP_IDS": "0"}
        crawlers = [CrawlerProcess(server.url, Path(tmp) / f"crawler-{i}.log", env) for i in range(args.processes)]
        rows = []
        try:
            wait_for(lambda: client.hlen("lp:workers") == args.processes, 60, what="crawlers registered")
            procs = [psutil.Process(c.pid) for c in crawlers]
            store = CrawlStore(client)
            rows.append(("first crawl", crawl_once(store, site, procs, args.pages, [])))
            rows.append(("unchanged re-check", crawl_once(store, site, procs, args.pages, [])))
            changed = sorted(random.Random(1).sample(range(1, args.pages), int(args.pages * args.changed)))
            versions.write_text(json.dumps({"changed": changed}))
            rows.append((f"{args.changed:.0%} of pages changed", crawl_once(store, site, procs, args.pages, changed)))
        finally:
            for c in crawlers:
                c.stop()
            client.close()
            server.stop()
            site.stop()
    return rows


def median(runs: list[list[tuple[str, dict[str, Any]]]]) -> list[tuple[str, dict[str, Any]]]:
    """Per crawl, the median of each figure; ``exact`` only if every run was."""
    rows = []
    for i, (name, _) in enumerate(runs[0]):
        values = [run[i][1] for run in runs]
        row = {k: sorted(v[k] for v in values)[len(values) // 2] for k in values[0]}
        row["exact"] = all(v["exact"] for v in values)
        rows.append((name, row))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--changed", type=float, default=0.05, help="share of pages changed before the third crawl")
    parser.add_argument("--page-kb", type=int, default=0, help="kilobytes of text added to every page")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = median([run(args) for _ in range(args.repeat)])
    first = rows[0][1]
    print(f"\nsite: {args.pages} pages with ETags (+{args.page_kb} kB each), {generated.expected_urls(args.pages)} "
          f"urls; {args.processes} crawler process(es); median of {args.repeat} runs\n")
    print("| crawl | wall s | vs first | CPU s | vs first | requests | body bytes | 304 | other host | pages | exact |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['seconds']:.2f} | {r['seconds'] / first['seconds']:.2f} | {r['cpu_s']:.1f} | "
              f"{r['cpu_s'] / first['cpu_s']:.2f} | {r['requests']} | {r['bytes']:,} | {r['not_modified']} | "
              f"{r['other_host']} | {r['pages']} | {r['exact']} |")


if __name__ == "__main__":
    main()
