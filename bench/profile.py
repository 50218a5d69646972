"""Where a crawler's time goes: ``make profile`` (or ``python -m bench.profile --help``).

Crawls the generated site (``tests/support/sites/generated.py``) ``--crawls`` times with warm crawler
processes on a private Redis, as ``bench/crawl.py`` does, and prints each crawl's wall time and the
crawlers' CPU. Then, as asked:

- ``--sample``: py-spy samples the first crawler during every crawl but the first (``--nonblocking``:
  its default, blocking mode charges 8 to 10% to whatever makes a system call, such as
  ``asyncio.get_running_loop``'s ``getpid``), and the time each package and function spends in its own
  code is printed;
- ``--time module:Qualified.name`` (repeatable): those callables are timed inside the crawlers
  (``bench/timing_hook``) and their total, calls and time per call printed, per crawl. A change of 1 to
  4% is lost in a whole crawl's noise on a 2-core machine; timed where it happens, it is not;
- ``--series``: each crawler's CPU per tenth of a second, to see who waits when.
- ``--samples PATH``: with ``--sample``, py-spy's stacks kept there, to see who calls what.

Compare two trees by running this from each (the crawlers run the code of the folder it is run from).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import redis

from bench.crawl import CRAWLER_ENV
from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import ROOT, CrawlerProcess, SiteServer, wait_for

HOOK = ROOT / "bench" / "timing_hook"
CRAWL_DEADLINE = 300.0  # seconds: a crawl of the benchmark site takes a few; past this, something broke
PACKAGES = ("crawler/", "linkpatrol/", "scrapy/", "twisted/", "aiohttp/", "redis/", "asyncio/", "pydispatch/",
            "lxml", "w3lib/", "urllib/", "json/", "yarl/", "multidict/", "hiredis")


def cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def py_spy() -> str | None:
    """py-spy beside this interpreter (requirements-dev.txt pins it), else on the PATH."""
    here = Path(sys.executable).with_name("py-spy")
    return str(here) if here.exists() else shutil.which("py-spy")


def package(frame: str) -> str:
    """The package of a py-spy frame, ``function (path:line)``: one of PACKAGES, else the file."""
    where = frame.rsplit(" (", 1)[-1].rstrip(")")
    return next((p.rstrip("/") for p in PACKAGES if p in where), where.rsplit(":", 1)[0].rsplit("/", 1)[-1])


def self_time(raw: Path) -> Iterator[tuple[str, int]]:
    """(innermost frame, samples) of py-spy's raw (collapsed-stack) output."""
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield stack.split(";")[-1].rsplit(":", 1)[0] + ")", int(count)


def print_samples(raw: Path, top: int) -> None:
    functions: collections.Counter[str] = collections.Counter()
    for frame, count in self_time(raw):
        functions[frame] += count
    total = sum(functions.values())
    if not total:
        print("no samples")
        return
    packages: collections.Counter[str] = collections.Counter()
    for frame, count in functions.items():
        packages[package(frame)] += count
    print(f"\n{total} samples of the first crawler; time in each package's own code:")
    for name, count in packages.most_common(12):
        print(f"  {count / total:6.1%}  {name}")
    print(f"\nfunctions, their own time (the {top} largest):")
    for frame, count in functions.most_common(top):
        print(f"  {count / total:6.1%}  {frame}")


def print_timers(folder: Path, crawls: int) -> None:
    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])
    for path in folder.glob("*.json"):
        for name, (seconds, calls) in json.loads(path.read_text()).items():
            totals[name][0] += seconds
            totals[name][1] += calls
    print(f"\ntimed inside the crawlers (start-up and {crawls} crawls; per crawl):")
    for name, (seconds, calls) in sorted(totals.items(), key=lambda kv: -kv[1][0]):
        per_call = seconds / calls * 1e6 if calls else 0.0
        print(f"  {seconds / crawls:8.3f} s  {calls / crawls:9.0f} calls  {per_call:7.1f} us a call  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--crawlers", type=int, default=1)
    parser.add_argument("--crawls", type=int, default=3, help="the first warms the crawlers up")
    parser.add_argument("--sample", action="store_true", help="py-spy on the first crawler")
    parser.add_argument("--time", action="append", default=[], metavar="MODULE:NAME",
                        help="a callable to time inside the crawlers, e.g. crawler.extract:scan_page")
    parser.add_argument("--series", action="store_true", help="each crawler's CPU per tenth of a second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--samples", type=Path, metavar="PATH",
                        help="with --sample, keep py-spy's stacks there (collapsed, one line a stack), to read "
                             "who calls what: flamegraph.pl, speedscope or grep")
    args = parser.parse_args()
    spy_binary = py_spy() if args.sample else None
    if args.sample and spy_binary is None:
        parser.error("--sample needs py-spy (make install puts it in .venv)")

    work = Path(tempfile.mkdtemp(prefix="lp-profile-"))
    env = dict(CRAWLER_ENV)
    if args.time:
        (work / "timers").mkdir()
        env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(HOOK), os.environ.get("PYTHONPATH", "")])),
                   LINKPATROL_TIME=";".join(args.time), LINKPATROL_TIME_OUT=str(work / "timers"))
    site = SiteServer("generated", str(args.pages), "0")
    server = RedisServer(work / "redis").start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    crawlers = [CrawlerProcess(server.url, work / f"crawler-{i}.log", env) for i in range(args.crawlers)]
    spy: subprocess.Popen[bytes] | None = None
    try:
        store = CrawlStore(client)
        wait_for(lambda: client.hlen("lp:workers") == args.crawlers, 60, what="crawlers registered")
        procs = [psutil.Process(c.pid) for c in crawlers]
        others = [psutil.Process(site.process.pid), psutil.Process(server.process.pid)]  # type: ignore[union-attr]
        for number in range(1, args.crawls + 1):
            if spy_binary and number == 2:
                spy = subprocess.Popen([spy_binary, "record", "--nonblocking", "-r", "250", "-f", "raw",
                                        "-o", str(work / "samples.txt"), "-p", str(crawlers[0].pid)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.0)  # py-spy attached before the crawl starts
            before, other_before = [cpu(p) for p in procs], [cpu(p) for p in others]
            started = last = time.monotonic()
            last_cpu, series = list(before), []
            crawl = store.create(site.url("main"))
            while store.require(crawl.id).state != "finished":
                time.sleep(0.01)
                stuck = time.monotonic() - started > CRAWL_DEADLINE
                if stuck or any(c.process.poll() is not None for c in crawlers):
                    # A crawler that died or cannot finish (a --time target that breaks it, say): said,
                    # with the logs kept (nothing below the try runs), rather than waited on for ever.
                    what = f"did not finish in {CRAWL_DEADLINE:.0f} s" if stuck else "lost a crawler"
                    raise SystemExit(f"crawl {number} {what}: see the crawlers' logs in {work}")
                if args.series and time.monotonic() - last >= 0.1:
                    now, now_cpu = time.monotonic(), [cpu(p) for p in procs]
                    shares = (f"{(c - b) / (now - last):.2f}" for c, b in zip(now_cpu, last_cpu, strict=True))
                    series.append("/".join(shares))
                    last, last_cpu = now, now_cpu
            wall = time.monotonic() - started
            used = sum(cpu(p) - b for p, b in zip(procs, before, strict=True))
            site_cpu, redis_cpu = (cpu(p) - b for p, b in zip(others, other_before, strict=True))
            done = store.require(crawl.id)
            print(f"crawl {number}: {wall:.2f} s, crawlers' CPU {used:.2f} s, site {site_cpu:.2f} s + Redis "
                  f"{redis_cpu:.2f} s; {done.pages_crawled} pages, {done.links_checked} urls"
                  + (" (warm-up)" if number == 1 else ""), flush=True)
            if series:
                print("  CPU a tenth of a second, per crawler:", " ".join(series))
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        for c in crawlers:
            c.stop()
        client.close()
        server.stop()
        site.stop()
    if spy is not None:
        print_samples(work / "samples.txt", args.top)
        if args.samples:
            shutil.copyfile(work / "samples.txt", args.samples)
            print(f"py-spy's stacks: {args.samples}")
    if args.time:
        print_timers(work / "timers", args.crawls)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
