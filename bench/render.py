"""Rendering benchmark: ``make bench-render`` (``python -m bench.render --pages 200 --repeat 3``).

A generated app (tests/support/sites/spa_bench.py: a quarter of its pages routes of a single-page app
that draws its links after a fetch(), the rest static documentation pages with an analytics script) is
crawled by one crawler that renders (``LINKPATROL_RENDER_PAGES``, 2 by default) with ``render`` always and
auto, in turns (always, auto, always, auto...), each on a fresh Redis and crawler; the median of each is
shown. Per crawl: wall time from enqueue to finished, pages crawled and rendered, rendered pages per
second (``always``: rendered pages over the whole crawl's wall time), CPU seconds of the crawler and its
browser, and the peak memory (PSS) of the crawler with every process of its browser.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.model.options import parse_options
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_for


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def crawler_alone(pid: int) -> int:
    """Memory (PSS) of the crawler process without its browser."""
    try:
        return int(psutil.Process(pid).memory_full_info().pss)
    except psutil.Error:
        return 0


def crawler_cpu(pid: int) -> float:
    """CPU seconds of the crawler process without its browser."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def sample(pid: int) -> tuple[int, float]:
    """Memory (bytes) and CPU seconds of a process and all its children (the browser's processes). The
    memory is the sum of their PSS (each shared page counted once, split between its sharers): chromium's
    processes share most of their pages, and a sum of RSS counts those several times."""
    rss, cpu = 0, 0.0
    for proc in tree(pid):
        try:
            rss += proc.memory_full_info().pss
            times = proc.cpu_times()
            cpu += times.user + times.system
        except psutil.Error:
            pass
    return rss, cpu


def run(site: SiteServer, mode: str, pages: int, workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = RedisServer(workdir / "redis").start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    store = CrawlStore(client)
    crawler = CrawlerProcess(server.url, workdir / "crawler.log", env)
    try:
        wait_for(lambda: client.hlen("lp:workers") == 1, 60, what="the crawler registered")
        _, cpu0 = sample(crawler.pid)
        own0 = crawler_cpu(crawler.pid)
        peak = alone = 0
        started = time.monotonic()
        crawl = store.create(site.url("main", "/app/0"), parse_options({"render": mode, "sitemaps": False}))
        while store.require(crawl.id).state != "finished":
            peak = max(peak, sample(crawler.pid)[0])
            alone = max(alone, crawler_alone(crawler.pid))
            time.sleep(0.1)
        wall = time.monotonic() - started
        rss, cpu1 = sample(crawler.pid)
        own = crawler_cpu(crawler.pid) - own0
        done = store.require(crawl.id)
        rendered = done.counters["checked_render"]
        return {"mode": mode, "seconds": wall, "pages": done.pages_crawled, "rendered": rendered,
                "rendered_per_s": rendered / wall, "dead": done.dead, "cpu": cpu1 - cpu0,
                "peak_rss_mb": max(peak, rss) / 2**20, "crawler_mb": alone / 2**20, "crawler_cpu": own}
    finally:
        crawler.stop(timeout=20)
        client.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--render-pages", type=int, default=2, help="LINKPATROL_RENDER_PAGES of the crawler")
    args = parser.parse_args()
    env = {"LINKPATROL_LOG_LEVEL": "WARNING", "LINKPATROL_TIMEOUT": "10", "LINKPATROL_WORKER_TTL": "15",
           "LINKPATROL_ALLOW_PRIVATE": "1", "LINKPATROL_RENDER_PAGES": str(args.render_pages)}
    site = SiteServer("spa_bench", str(args.pages))
    runs: dict[str, list[dict[str, Any]]] = {"always": [], "auto": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for turn in range(args.repeat):
                for mode, results in runs.items():
                    res = run(site, mode, args.pages, Path(tmp) / f"{mode}-{turn}", env)
                    results.append(res)
                    print(f"  turn {turn + 1} {mode:6}: {res['seconds']:6.1f} s, {res['pages']} pages, "
                          f"{res['rendered']} rendered, {res['rendered_per_s']:.2f} rendered/s, "
                          f"CPU {res['cpu']:.1f} s (the crawler {res['crawler_cpu']:.1f} s), "
                          f"peak memory {res['peak_rss_mb']:.0f} MB "
                          f"(the crawler alone {res['crawler_mb']:.0f} MB)", flush=True)
    finally:
        site.stop()
    print(f"\n{args.pages}-page app, one crawler rendering {args.render_pages} pages at once, median of "
          f"{args.repeat} turns:")
    print("| render | wall time | pages crawled | pages rendered | rendered pages/s | CPU s (crawler + browser) "
          "| peak memory (crawler + browser, PSS) | the crawler alone |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, results in runs.items():
        def med(key: str, results: list[dict[str, Any]] = results) -> float:
            return statistics.median(r[key] for r in results)
        print(f"| `{mode}` | {med('seconds'):.1f} s | {med('pages'):.0f} | {med('rendered'):.0f} | "
              f"{med('rendered_per_s'):.2f} | {med('cpu'):.1f} | {med('peak_rss_mb'):.0f} MB | "
              f"{med('crawler_mb'):.0f} MB |")


if __name__ == "__main__":
    main()
