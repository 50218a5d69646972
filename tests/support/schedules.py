"""Helpers for the schedule tests: RQ's cron process (``python -m web.schedules.cron``), the environment
that makes ticks quick and the clock movable, and a site on loopback whose pages a test changes
between two crawls."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

from tests.support.processes import ROOT


def schedule_env(redis_url: str, clock: Path, **extra: str) -> dict[str, str]:
    """A tick every second, a one-minute minimum, and the clock offset read from ``clock`` (seconds)."""
    return {"REDIS_URL": redis_url, "LINKPATROL_SCHEDULE_TICK": "1", "LINKPATROL_MIN_SCHEDULE_INTERVAL": "60",
            "LINKPATROL_TEST_CLOCK_FILE": str(clock), **extra}


def kill_strays(redis_url: str) -> int:
    """SIGKILL worker processes of this Redis left without their parent: a work horse forked in the
    instant between ``WorkerProcess.kill_tree`` listing the tree and killing its parent outlives it and
    would run its tick job after the test moved the clock. Returns how many there were."""
    strays = 0
    for proc in psutil.process_iter(["cmdline", "ppid"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["ppid"] == 1 and "web.mail.worker" in " ".join(proc.info["cmdline"] or []) \
                    and proc.environ().get("REDIS_URL") == redis_url:
                proc.send_signal(signal.SIGKILL)
                strays += 1
    return strays


class CronProcess:
    """``python -m web.schedules.cron`` with its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "-m", "web.schedules.cron"], cwd=ROOT,
                                        env={**os.environ, **env}, stdout=self._fh, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class ChangingSite:
    """A real HTTP server on 127.0.0.1 whose pages (path -> (status, html)) the test edits at any time."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, str]] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the standard library names it so
                status, html = pages.get(self.path.split("?")[0], (404, "<p>not here</p>"))
                data = html.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # http.server's 5 stalls concurrent crawlers (shared/DESIGN.md)
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def links(self, *targets: str) -> None:
        """The home page links to ``targets`` (paths); each alive path in ``self.pages`` answers 200."""
        body = "".join(f'<a href="{t}">{t}</a> ' for t in targets)
        self.pages["/"] = (200, f"<html><head><title>Home</title></head><body>{body}</body></html>")
        self.pages["/robots.txt"] = (200, "User-agent: *\nAllow: /\n")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
