"""``make run``: everything on one machine, for a first look or a laptop.

Starts Redis (an embedded redis-server under ./state/redis unless REDIS_URL is set), crawler
processes (LINKPATROL_CRAWLERS, default 1), the web app (gunicorn on LINKPATROL_WEB_PORT, default 8000)
the mail worker (which also runs the schedule ticks) and RQ's cron scheduler for the schedules
(``python -m web.schedules.cron``), prints what to do next, and stops them all on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from linkpatrol.redis_server import RedisServer, port_free

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "state"


def main() -> int:
    env = dict(os.environ)
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    redis_server: RedisServer | None = None
    if not env.get("REDIS_URL"):
        wanted = int(env.get("LINKPATROL_REDIS_PORT", "6390"))
        redis_server = RedisServer(STATE / "redis", port=wanted if port_free(wanted) else None,
                                   prefer_embedded=True)
        redis_server.start()
        env["REDIS_URL"] = redis_server.url
        print(f"* embedded Redis ({redis_server.binary}) on {redis_server.url}, data in {STATE / 'redis'}")
    else:
        print(f"* using Redis at {env['REDIS_URL'].split('@')[-1]}")
    if "LINKPATROL_ALLOW_PRIVATE" not in env:
        env["LINKPATROL_ALLOW_PRIVATE"] = "1"
        print("* LINKPATROL_ALLOW_PRIVATE=1: this local run may check loopback and private addresses")
    logs = STATE / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def start(name: str, args: list[str]) -> None:
        log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        # A session of its own: Ctrl-C reaches only this launcher, which then stops each child once,
        # with SIGTERM (gunicorn hit by the terminal's SIGINT and then our SIGTERM could hang).
        procs.append((name, subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)))
        print(f"* {name} started (log: {logs / (name + '.log')})")

    for i in range(int(env.get("LINKPATROL_CRAWLERS", "1"))):
        start(f"crawler-{i + 1}", [sys.executable, "-m", "scrapy", "crawl", "links"])
    port = env.get("LINKPATROL_WEB_PORT", "8000")
    if (ROOT / "web" / "__init__.py").exists():
        start("web", [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                      "--threads", "4", "web:create_app()"])
    if (ROOT / "web" / "mail" / "worker.py").exists():
        start("worker", [sys.executable, "-m", "web.mail.worker"])
    if (ROOT / "web" / "schedules" / "cron.py").exists():  # enqueues the schedule tick the worker runs
        start("cron", [sys.executable, "-m", "web.schedules.cron"])
    print(f"""
linkpatrol is running.
  web UI:         http://127.0.0.1:{port}/
  check a site:   REDIS_URL={env['REDIS_URL']} .venv/bin/python -m linkpatrol enqueue https://example.org/ --wait
  more crawlers:  REDIS_URL={env['REDIS_URL']} .venv/bin/scrapy crawl links
Press Ctrl-C to stop everything.""", flush=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, proc in procs:
                if proc.poll() is not None:
                    print(f"! {name} exited with {proc.returncode}; see {logs / (name + '.log')}")
                    stopping = True
            time.sleep(0.5)
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for _, proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the whole group: no orphaned gunicorn workers
        if redis_server:
            redis_server.stop()
        print("stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
