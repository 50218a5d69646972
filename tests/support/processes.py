"""Processes the tests and the benchmark start: fixture site servers and crawler processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.records import Crawl
from linkpatrol.store.crawls import CrawlStore

ROOT = Path(__file__).resolve().parents[2]


# Fetches a URL from inside a network namespace (a test host of ours), printing the body.
FETCH = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"


class SiteServer:
    """``python -m tests.support.sites.server MODULE ARGS`` in a subprocess; ``ports`` maps site names to ports.
    ``bind`` is the address it listens on; ``prefix`` runs it inside a network namespace
    (``["ip", "netns", "exec", NAME]``)."""

    def __init__(self, module: str, *args: str, bind: str = "127.0.0.1", prefix: list[str] | None = None) -> None:
        self.bind = bind
        self.prefix = prefix or []
        self.process = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "tests.support.sites.server", "--bind", bind, module, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"site server {module} did not start")
        self.ports: dict[str, int] = json.loads(line)

    def url(self, site: str, path: str = "/") -> str:
        return f"http://{self.bind}:{self.ports[site]}{path}"

    def _get(self, site: str, path: str) -> Any:
        if self.prefix:  # the server lives in another network namespace: ask from inside it
            out = subprocess.run([*self.prefix, sys.executable, "-c", FETCH, self.url(site, path)],
                                 check=True, capture_output=True, text=True, timeout=30).stdout
            return json.loads(out)
        with urllib.request.urlopen(self.url(site, path), timeout=5) as resp:
            return json.load(resp)

    def hits(self, site: str) -> dict[str, int]:
        """Requests per "METHOD path"."""
        return dict(self._get(site, "/__hits"))

    def log(self, site: str) -> dict[str, Any]:
        """Every request with its arrival time, and the most ever served at once."""
        return dict(self._get(site, "/__log"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self.process.stdout:
            self.process.stdout.close()


# Settings that make the tests quick: short timeouts, quick recovery of a dead worker's leases.
TEST_CRAWLER_ENV = {
    "LINKPATROL_TIMEOUT": "2",
    "LINKPATROL_WORKER_TTL": "3",
    "LINKPATROL_REAP_INTERVAL": "1",
    "LINKPATROL_RETRY_AFTER_MAX": "1",
    "LINKPATROL_LOG_LEVEL": "INFO",
    "LINKPATROL_ALLOW_PRIVATE": "1",  # the fixture sites live on loopback
}


class LoggedProcess:
    """A Python module run as a process of its own (``python -m <module>``) from the project root, its
    output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, module_args: list[str], env: dict[str, str], log: Path, append: bool = False) -> None:
        self.log = log
        self._logfile = open(log, "ab" if append else "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "-m", *module_args], cwd=ROOT, env={**os.environ, **env},
                                        stdout=self._logfile, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 20) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._logfile.close()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class CrawlerProcess(LoggedProcess):
    """One ``scrapy crawl links`` process with its log in a file."""

    def __init__(self, redis_url: str, log: Path, env: dict[str, str] | None = None,
                 args: list[str] | None = None) -> None:
        super().__init__(["scrapy", "crawl", "links", *(args or [])],
                         {**TEST_CRAWLER_ENV, "REDIS_URL": redis_url, **(env or {})}, log)


def wait_for(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.1, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def linkpatrol_cli(redis_url: str, *args: str, module: str = "linkpatrol") -> subprocess.CompletedProcess[str]:
    """``python -m linkpatrol ARGS`` (or ``module``) against ``redis_url``; what it printed and its exit code."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          env={"REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"}, timeout=120)


def wait_ended(store: CrawlStore, crawl_id: str, timeout: float = 90) -> Crawl:
    """Wait until the crawl finished or was cancelled; its record then."""
    wait_for(lambda: store.require(crawl_id).state in ("finished", "cancelled"), timeout, interval=0.1,
             what=f"crawl {crawl_id} to end")
    return store.require(crawl_id)


def crawl_to_end(store: CrawlStore, url: str, options: CrawlOptions | None = None, timeout: float = 90) -> Crawl:
    """Create a crawl of ``url`` and wait until it ends (crawler processes must be running)."""
    return wait_ended(store, store.create(url, options or CrawlOptions()).id, timeout)
