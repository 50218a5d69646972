"""What ``linkpatrol check`` costs to start: ``make bench-check``.

The 2,000-page generated site (``tests/support/sites/generated.py``) checked three ways, each run
timed from the command's start to its exit (median of ``--repeat`` runs):

- ``check`` on its own with one crawler (``--crawlers 1``): a private Redis and a crawler process
  started and stopped by the command;
- the same with the default, one crawler per CPU;
- ``check`` through a running service: REDIS_URL set, one crawler process and Redis already started
  (as ``bench/crawl.py`` starts them), so the command only enqueues, waits and reports.

The start-up cost is the wall time of a run minus the crawl's own duration (from its record: from the
moment a crawler took it to its end): what a CI job pays besides the crawl.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from linkpatrol.cli.check.services import default_crawlers
from linkpatrol.cli.redis_server import RedisServer
from tests.support.processes import ROOT, CrawlerProcess, SiteServer, wait_for
from tests.support.sites import generated

# The generated site is one chain of /p/N.html pages, the shape of a crawl trap: followed to the end, as
# by the crawler rows of bench/crawl.py (at 20,000 pages trap detection would hold back three quarters).
ENV = {"LINKPATROL_LOG_LEVEL": "WARNING", "LINKPATROL_TIMEOUT": "10", "LINKPATROL_TRAP_IDS": "0"}


def run_check(url: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "linkpatrol", "check", url, "--format", "json", "--progress", "none",
                          *args], env=env, capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - started
    if out.returncode not in (0, 1):
        raise RuntimeError(f"check exited with {out.returncode}: {out.stderr}")
    data = json.loads(out.stdout)
    crawl = data["crawl"]
    started_at, finished_at = (dt.datetime.fromisoformat(crawl[k]).timestamp() for k in ("started_at", "finished_at"))
    return {"wall": wall, "crawl": finished_at - started_at, "urls": crawl["links_checked"],
            "dead": {p["url"] for p in data["problems"] if p["outcome"] == "dead"}}


def median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["wall"])
    row = dict(ordered[len(ordered) // 2])
    row["spread"] = (ordered[0]["wall"], ordered[-1]["wall"])
    row["startup"] = sorted(r["wall"] - r["crawl"] for r in runs)[len(runs) // 2]
    row["exact"] = all(r["dead"] == runs[0]["dead"] for r in runs)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "LINKPATROL_ALLOW_PRIVATE")}
    base.update(ENV, PYTHONPATH=str(ROOT))
    site = SiteServer("generated", str(args.pages), "0")
    url = site.url("main")
    truth = set(generated.truth(site.ports["main"], args.pages))
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        rows.append(("check, 1 crawler", median([run_check(url, base, "--allow-private", "--crawlers", "1")
                                                  for _ in range(args.repeat)])))
        rows.append((f"check, {default_crawlers()} crawlers (one per CPU)",
                     median([run_check(url, base, "--allow-private") for _ in range(args.repeat)])))
        with tempfile.TemporaryDirectory(prefix="lp-bench-check-") as tmp:
            server = RedisServer(Path(tmp) / "redis").start()
            client = redis.Redis.from_url(server.url)
            crawler = CrawlerProcess(server.url, Path(tmp) / "crawler.log", {**ENV, "LINKPATROL_ALLOW_PRIVATE": "1"})
            try:
                wait_for(lambda: client.hlen("lp:workers") == 1, 60, what="the crawler to register")
                rows.append(("check through a running service (1 crawler)",
                             median([run_check(url, {**base, "REDIS_URL": server.url})
                                     for _ in range(args.repeat)])))
            finally:
                crawler.stop()
                client.close()
                server.stop()
    finally:
        site.stop()
    print(f"\nsite: {args.pages} pages, {generated.expected_urls(args.pages)} urls, {len(truth)} dead; "
          f"median of {args.repeat} runs, wall time range in brackets\n")
    print("| run | wall s | crawl s | start-up and stop s | urls | dead as expected |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        lo, hi = r["spread"]
        print(f"| {name} | {r['wall']:.2f} [{lo:.2f}-{hi:.2f}] | {r['crawl']:.2f} | {r['startup']:.2f} | "
              f"{r['urls']:,} | {r['dead'] == truth and r['exact']} |")
    service = rows[-1][1]
    for name, r in rows[:-1]:
        print(f"{name}: {r['wall'] - service['wall']:+.2f} s against the running service")


if __name__ == "__main__":
    main()
