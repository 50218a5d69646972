"""What trustworthy verdicts cost: GET vs HEAD-first on links to another host (requests, bytes
received, wall time), and what a thousand links to a host that does not resolve add to a crawl.

    .venv/bin/python -m bench.verdicts [--pages 200] [--site-pages 2000] [--repeat 3]

Each configuration runs on its own Redis with one crawler process; bytes are the crawler's own count
(Scrapy's downloader stats: headers and body of every response as it arrived, cut bodies included).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.frontier import Scripts
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.wire import Completion, FoundLink, FrontierMessage, LinkResult, MessageKind, Referrer
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_for

ENV = {"LINKPATROL_LOG_LEVEL": "INFO", "LINKPATROL_TIMEOUT": "10", "LINKPATROL_ALLOW_PRIVATE": "1",
       # No shared pacing of the other host: this measures the checks, not the politeness.
       "LINKPATROL_HOST_CONCURRENCY": "0", "LINKPATROL_HOST_RATE": "0"}
STAT = re.compile(r"'(downloader/[a-z_/A-Z]+)': (\d+)")


def crawl_once(url: str, options: CrawlOptions, workdir: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = RedisServer(workdir / "redis").start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    store = CrawlStore(client)
    crawler = CrawlerProcess(server.url, workdir / "crawler.log", {**ENV, **(env or {})},
                             ["-s", "DOWNLOADER_STATS=True"])
    try:
        wait_for(lambda: client.hlen("lp:workers") == 1, 60, what="crawler registered")
        started = time.monotonic()
        crawl = store.create(url, options)
        wait_for(lambda: store.require(crawl.id).state == "finished", 600, interval=0.05, what="crawl")
        wall = time.monotonic() - started
        done = store.require(crawl.id)
    finally:
        crawler.stop()
        client.close()
        server.stop()
    stats = {k: int(v) for k, v in STAT.findall(crawler.output())}
    return {"seconds": wall, "urls": done.links_checked, "dead": done.broken,
            "get": stats.get("downloader/request_method_count/GET", 0),
            "head": stats.get("downloader/request_method_count/HEAD", 0),
            "bytes": stats.get("downloader/response_bytes", 0), "checks": done.check_counts}


def anchors_cost(workdir: Path, pages: int = 10_000, ids: int = 30) -> dict[str, float]:
    """Redis bytes per page read for anchors: the same fake crawl (every page linking the next,
    through the frontier's own COMPLETE) with and without each page's ``ids`` anchors of 8-24 chars."""
    out: dict[str, float] = {}
    for with_anchors in (False, True):
        server = RedisServer(workdir / f"anchors-{with_anchors}").start()
        client = redis.Redis.from_url(server.url, decode_responses=True)
        try:
            store = CrawlStore(client)
            crawl = store.create("https://bench.example/", CrawlOptions())
            client.lpop(store.keys.start)
            scripts = Scripts(client, store.keys)
            scripts.seed(crawl.id, crawl.url, time.time())
            before = int(client.info("memory")["used_memory"])
            for i in range(pages):
                url = "https://bench.example/" if i == 0 else f"https://bench.example/docs/page-{i}.html"
                nxt = f"https://bench.example/docs/page-{i + 1}.html"
                anchors = {f"section-{i}-{k}-{'x' * (k % 16)}" for k in range(ids)} if with_anchors else None
                link = FoundLink(nxt, FrontierMessage(nxt, MessageKind.PAGE, 1), Referrer(url, "Next", "a", ""))
                scripts.pop(crawl.id, 10, "bench")
                scripts.complete(Completion(crawl.id, LinkResult(url, "ok", 200), True, [link], anchors=anchors),
                                 now=time.time(), max_referrers=1000)
            out["with" if with_anchors else "without"] = (int(client.info("memory")["used_memory"]) - before) / pages
        finally:
            client.close()
            server.stop()
    return out


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    row = dict(sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2])
    row["spread"] = (min(r["seconds"] for r in runs), max(r["seconds"] for r in runs))
    row["median_s"] = statistics.median(r["seconds"] for r in runs)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=200, help="pages of the site linking to another host")
    parser.add_argument("--site-pages", type=int, default=2000, help="pages of the generated site")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--anchors-only", action="store_true", help="only measure what anchors cost in Redis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lp-bench-anchors-") as tmp:
        cost = anchors_cost(Path(tmp))
    print(f"\nAnchors: {cost['with'] - cost['without']:.0f} Redis bytes per page with 30 ids "
          f"({cost['without']:.0f} B/page without, {cost['with']:.0f} with)")
    if args.anchors_only:
        return
    with tempfile.TemporaryDirectory(prefix="lp-bench-verdicts-") as tmp:
        ext_site = SiteServer("external", str(args.pages))
        try:
            methods = {}
            for name, head_first in (("GET (default)", False), ("HEAD first", True)):
                methods[name] = median_of([crawl_once(ext_site.url("main"), CrawlOptions(head_first=head_first),
                                                      Path(tmp) / f"{head_first}-{i}") for i in range(args.repeat)])
        finally:
            ext_site.stop()
        hosts = {}
        for links in (0, 1000):
            site = SiteServer("generated", str(args.site_pages), "0", str(links))
            try:
                hosts[links] = median_of([crawl_once(site.url("main"), CrawlOptions(), Path(tmp) / f"h{links}-{i}")
                                          for i in range(args.repeat)])
            finally:
                site.stop()

    print(f"\nLinks to another host ({args.pages} pages, {args.pages * 10} resources of 1-256 kB), "
          f"median of {args.repeat}:\n")
    print("| checks | wall s | GET requests | HEAD requests | MB received | dead |")
    print("|---|---|---|---|---|---|")
    for name, r in methods.items():
        lo, hi = r["spread"]
        print(f"| {name} | {r['seconds']:.2f} [{lo:.2f}-{hi:.2f}] | {r['get']} | {r['head']} | "
              f"{r['bytes'] / 2**20:.1f} | {r['dead']} |")
    print(f"\nA host that does not resolve ({args.site_pages}-page site), median of {args.repeat}:\n")
    print("| crawl | urls | wall s | decided for the whole host |")
    print("|---|---|---|---|")
    for links, r in hosts.items():
        lo, hi = r["spread"]
        print(f"| {links} links to nowhere.invalid | {r['urls']} | {r['seconds']:.2f} [{lo:.2f}-{hi:.2f}] | "
              f"{r['checks']['host']} |")
    print(f"\n1,000 links to an unresolvable host add {hosts[1000]['median_s'] - hosts[0]['median_s']:.2f} s")


if __name__ == "__main__":
    main()
