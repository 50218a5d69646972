"""``make run``: everything on one machine, for a first look or a laptop.

Starts Redis (an embedded redis-server on LINKPATROL_REDIS_PORT, default 6390, data under ./state/redis,
unless REDIS_URL is set), crawler processes (LINKPATROL_CRAWLERS, default 1), the web app (gunicorn on
LINKPATROL_WEB_PORT, default 8000), the mail worker (which also runs the schedule ticks) and RQ's cron
scheduler for the schedules (``python -m web.processes.cron``); prints what to do next once the web app
answers, and stops them all on Ctrl-C. A port that another program holds is one line naming the
variable to change and exit code 2, before anything starts. LINKPATROL_STATE_DIR moves ./state.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from linkpatrol.cli.redis_server import RedisServer, port_free
from linkpatrol.env import BadSetting, whole

ROOT = Path(__file__).resolve().parents[2]
WEB_PORT = ("LINKPATROL_WEB_PORT", 8000)
REDIS_PORT = ("LINKPATROL_REDIS_PORT", 6390)
WEB_START_TIMEOUT = 60.0  # gunicorn listens within a second or two; generous for a loaded machine


def port_taken(port: int, name: str, what: str) -> str | None:
    """The one line to print when another program listens on ``port``, naming the variable to change."""
    if port_free(port):
        return None
    other = next((p for p in range(port + 1, min(port + 100, 65536)) if port_free(p)), None)
    example = f" ({name}={other} make run)" if other else ""
    return f"error: port {port} ({what}) is already in use by another program: set {name} to a free port{example}"


def processes(web_port: int, crawlers: int) -> list[tuple[str, list[str]]]:
    """What ``make run`` starts, by name: the arguments after ``python``. docker-compose.yml has a service
    running each of them (tests/core/test_packaging.py holds it to that)."""
    return [
        *((f"crawler-{i + 1}", ["-m", "scrapy", "crawl", "links"]) for i in range(crawlers)),
        ("web", ["-m", "gunicorn", "--bind", f"127.0.0.1:{web_port}", "--workers", "2", "--threads", "4",
                 "web:create_app()"]),
        ("worker", ["-m", "web.processes.worker"]),  # mail jobs and the schedule ticks
        ("cron", ["-m", "web.processes.cron"]),  # enqueues the schedule tick the worker runs
    ]


def listening(proc: subprocess.Popen[bytes], port: int) -> bool:
    """True when something accepts connections on ``port`` while ``proc`` is alive: the pre-flight check
    found the port free, so that is ``proc``."""
    if proc.poll() is not None:
        return False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return proc.poll() is None


def main() -> int:
    env = dict(os.environ)
    embedded = not env.get("REDIS_URL")
    try:
        port = whole(env, *WEB_PORT, minimum=1, maximum=65535)
        redis_port = whole(env, *REDIS_PORT, minimum=1, maximum=65535) if embedded else 0  # unused with REDIS_URL
        crawlers = whole(env, "LINKPATROL_CRAWLERS", 1, minimum=0, maximum=64)
    except BadSetting as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    taken = port_taken(port, WEB_PORT[0], "the web UI") or (
        port_taken(redis_port, REDIS_PORT[0], "the embedded Redis") if embedded else None)
    if taken:
        print(taken, file=sys.stderr)
        return 2
    state = Path(env.get("LINKPATROL_STATE_DIR") or ROOT / "state")
    logs = state / "logs"
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    redis_server: RedisServer | None = None
    stopping = failed = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    def start(name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        # A session of its own: Ctrl-C reaches only this launcher, which then stops each child once,
        # with SIGTERM (gunicorn hit by the terminal's SIGINT and then our SIGTERM could hang).
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        procs.append((name, proc))
        print(f"* {name} started (log: {logs / (name + '.log')})")
        return proc

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        if embedded:
            redis_server = RedisServer(state / "redis", port=redis_port, prefer_embedded=True)
            try:
                redis_server.start()
            except RuntimeError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            env["REDIS_URL"] = redis_server.url
            print(f"* embedded Redis ({redis_server.binary}) on {redis_server.url}, data in {state / 'redis'}")
        else:
            print(f"* using Redis at {env['REDIS_URL'].split('@')[-1]}")
        if "LINKPATROL_ALLOW_PRIVATE" not in env:
            env["LINKPATROL_ALLOW_PRIVATE"] = "1"
            print("* LINKPATROL_ALLOW_PRIVATE=1: this local run may check loopback and private addresses")
        logs.mkdir(parents=True, exist_ok=True)
        started = {name: start(name, [sys.executable, *args]) for name, args in processes(port, crawlers)}
        web = started["web"]
        # The address is announced once the web app answers on it, never before.
        deadline = time.monotonic() + WEB_START_TIMEOUT
        while not stopping and not listening(web, port):
            if web.poll() is not None or time.monotonic() > deadline:
                print(f"! the web app did not start on port {port}; see {logs / 'web.log'}", file=sys.stderr)
                stopping = failed = True
            else:
                time.sleep(0.2)
        if not stopping:
            print(f"""
linkpatrol is running.
  web UI:         http://127.0.0.1:{port}/
  Redis:          REDIS_URL={env['REDIS_URL']}
  check a site:   REDIS_URL={env['REDIS_URL']} .venv/bin/linkpatrol enqueue https://example.org/ --wait
  more crawlers:  REDIS_URL={env['REDIS_URL']} .venv/bin/scrapy crawl links
Press Ctrl-C to stop everything.""", flush=True)
        while not stopping:
            for name, proc in procs:
                if proc.poll() is not None:
                    print(f"! {name} exited with {proc.returncode}; see {logs / (name + '.log')}", file=sys.stderr)
                    stopping = failed = True
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
        if procs or redis_server:
            print("stopped.", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
