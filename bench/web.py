"""Web benchmark: ``python -m bench.web``.

Starts its own Redis, fills a finished crawl with 100k checked links (written in the exact format the
crawler's pipeline writes), starts the app under gunicorn, then prints:

- the time to render the first report page (cold: first request to the worker; warm; other views);
- ``POST /api/crawls`` latency (p50, p95, p99) with 20 concurrent clients while a crawl runs (a real
  crawler process crawling a generated local site).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

from linkpatrol.cli.redis_server import RedisServer, free_port
from linkpatrol.frontier import Scripts
from linkpatrol.model.verdicts import status_class
from linkpatrol.model.wire import LinkResult, Referrer
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import ROOT, CrawlerProcess, SiteServer, wait_for

GUNICORN_ARGS = os.environ.get("BENCH_GUNICORN_ARGS", "--workers 2 --threads 8 --worker-class gthread").split()


def fill(store: CrawlStore, links: int, seed: int = 7) -> str:
    """A finished crawl of https://bench.example/ with ``links`` checked urls: ~4% dead, ~1% blocked or
    rate limited, ~3% redirected, ~10% external; every problem url has 1-5 referrers."""
    rnd = random.Random(seed)
    crawl = store.create("https://bench.example/")
    r, k = store.r, store.keys
    Scripts(r, k).seed(crawl.id, crawl.url, time.time())
    r.delete(k.start, k.queue(crawl.id))
    counters: dict[str, int] = {"links_checked": links, "pages_crawled": 0, "broken": 0, "redirected": 0}
    pipe = r.pipeline(transaction=False)
    for i in range(links):
        external = rnd.random() < 0.1
        host = f"ext{i % 97}.example" if external else "bench.example"
        url = f"https://{host}/section-{i % 300}/page-{i}.html"
        roll = rnd.random()
        if roll < 0.03:
            res = LinkResult(url, "dead", 404, external=external)
        elif roll < 0.04:
            res = LinkResult(url, "dead", error=rnd.choice(["dns", "timeout", "refused", "tls"]), external=external)
        elif roll < 0.045:
            res = LinkResult(url, "blocked", 403, external=external)
        elif roll < 0.05:
            res = LinkResult(url, "rate_limited", 429, external=external)
        else:
            res = LinkResult(url, "ok", 200, external=external, content_type="text/html")
        if rnd.random() < 0.03:
            res.redirects = [[url.replace("https:", "http:"), 301]]
            res.final_url = url
            pipe.sadd(k.redirects(crawl.id), url)
            counters["redirected"] += 1
        pipe.hset(k.urls(crawl.id), url, res.to_json())
        counters[f"outcome_{res.outcome}"] = counters.get(f"outcome_{res.outcome}", 0) + 1
        cls = status_class(res.status)
        counters[f"status_{cls}"] = counters.get(f"status_{cls}", 0) + 1
        if res.outcome == "ok" and not external:
            counters["pages_crawled"] += 1
        if res.outcome != "ok":
            pipe.sadd(k.problems(crawl.id), url)
            for j in range(rnd.randint(1, 5)):
                ref = Referrer(f"https://bench.example/section-{(i + j) % 300}/", f"Link {i} from {j}", "a", "")
                pipe.rpush(k.refs(crawl.id, url), ref.encode())
        if res.outcome == "dead":
            counters["broken"] += 1
        if i % 5000 == 4999:
            pipe.execute()
    now = time.time()
    pipe.hset(k.crawl(crawl.id), mapping={**counters, "state": "finished", "started_at": repr(now - 600),
                                          "finished_at": repr(now)})
    pipe.srem(k.active, crawl.id)
    pipe.execute()
    return crawl.id


def timed_get(port: int, path: str) -> tuple[float, int, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t0 = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed * 1000, resp.status, len(body)


def post_load(port: int, clients: int, per_client: int, site_url: str) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for i in range(per_client):
            body = json.dumps({"url": f"{site_url}?client={n}&i={i}", "max_pages": 1})
            t0 = time.perf_counter()
            conn.request("POST", "/api/crawls", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if resp.status != 201:
                failures.append(str(resp.status))
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} POSTs failed: {failures[:5]}")
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50, help="POSTs per client")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lp-bench-web-"))
    server = RedisServer(work / "redis", persistent=False).start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    store = CrawlStore(client)
    procs: list[Any] = []
    try:
        t0 = time.perf_counter()
        crawl_id = fill(store, args.links)
        print(f"filled crawl {crawl_id}: {args.links:,} checked links in {time.perf_counter() - t0:.1f}s "
              f"({client.scard(store.keys.problems(crawl_id)):,} problems)")
        port = free_port()
        env = {**os.environ, "REDIS_URL": server.url, "LINKPATROL_RATE_LIMIT": "0", "LINKPATROL_ALLOW_PRIVATE": "1",
               "LINKPATROL_SECRET_KEY": "bench"}
        log = open(work / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the process
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *GUNICORN_ARGS,
                                "web:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(web)

        def up() -> bool:
            try:
                return timed_get(port, "/api/openapi.json")[1] == 200
            except OSError:
                return False

        wait_for(up, 30, interval=0.2, what="gunicorn")
        print(f"gunicorn {' '.join(GUNICORN_ARGS)} on port {port}")
        report = f"/crawls/{crawl_id}"
        cold = [timed_get(port, report) for _ in range(2)]  # one per worker, most likely
        warm = [timed_get(port, report)[0] for _ in range(20)]
        print(f"first report page (dead links, 50 rows): cold {cold[0][0]:.0f} ms / {cold[1][0]:.0f} ms, "
              f"warm p50 {statistics.median(warm):.0f} ms, p95 {pct(warm, 95):.0f} ms ({cold[0][2]:,} bytes)")
        for view in ("all", "all&cls=4xx&q=section-12", "dead&page=20&sort=status", "redirects"):
            first = timed_get(port, f"{report}?view={view}")
            again = [timed_get(port, f"{report}?view={view}")[0] for _ in range(5)]
            print(f"  view={view}: first {first[0]:.0f} ms, then p50 {statistics.median(again):.0f} ms")

        site = SiteServer("generated", "3000", "0.01")
        procs.append(site)
        crawler = CrawlerProcess(server.url, work / "crawler.log",
                                 {"LINKPATROL_LOG_LEVEL": "WARNING", "LINKPATROL_ALLOW_PRIVATE": "1"})
        procs.append(crawler)
        running = store.create(site.url("main"))
        wait_for(lambda: store.require(running.id).links_checked > 20, 60, what="the crawl to run")
        t0 = time.perf_counter()
        latencies = post_load(port, args.clients, args.requests, site.url("main"))
        wall = time.perf_counter() - t0
        state = store.require(running.id)
        print(f"POST /api/crawls, {args.clients} concurrent clients x {args.requests} while a crawl runs "
              f"({state.state}, {state.links_checked:,} links checked so far): "
              f"p50 {pct(latencies, 50):.1f} ms, p95 {pct(latencies, 95):.1f} ms, p99 {pct(latencies, 99):.1f} ms, "
              f"{len(latencies) / wall:.0f} req/s")
    finally:
        for proc in reversed(procs):
            if isinstance(proc, subprocess.Popen):
                proc.terminate()
                proc.wait(20)
            else:
                proc.stop()
        client.close()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
