"""Helpers for the notification tests: crawls driven through the real frontier scripts, mail worker
processes (``python -m web.worker``) and the environment that makes their retries quick."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import redis

from crawler.frontier import Scripts, message
from crawler.keys import Keys
from crawler.status import status_class
from crawler.storage import Crawl, CrawlOptions, CrawlStore, LinkResult
from tests.helpers import ROOT

# Quick retries and a short grace before a silent job counts as abandoned.
FAST_ENV = {
    "LINKPATROL_MAIL_ATTEMPTS": "4",
    "LINKPATROL_MAIL_RETRY_DELAY": "1",
    "LINKPATROL_MAIL_RETRY_MAX_DELAY": "1",
    "LINKPATROL_SMTP_SECURITY": "none",
    "LINKPATROL_SMTP_TIMEOUT": "5",
    "LINKPATROL_MAIL_JOB_TIMEOUT": "20",
    "LINKPATROL_JOB_HEARTBEAT_GRACE": "2",
    "LINKPATROL_JOB_MONITOR_INTERVAL": "1",
    "LINKPATROL_JOB_MAINTENANCE_INTERVAL": "1",
    "LINKPATROL_SMTP_SENDER": "patrol@linkpatrol.test",
    "WEB_BASE_URL": "http://reports.test",
}


def mail_env(redis_url: str, smtp_port: int | None, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**FAST_ENV, "REDIS_URL": redis_url, "LINKPATROL_MAIL_DIR": str(tmp_path / "outbox"), **extra}
    env["LINKPATROL_SMTP_HOST"] = "127.0.0.1" if smtp_port else ""
    if smtp_port:
        env["LINKPATROL_SMTP_PORT"] = str(smtp_port)
    return env


def finish_crawl(
    store: CrawlStore,
    notify: list[str],
    dead: dict[str, list[tuple[str, str]]],
    ok: list[str] = (),  # type: ignore[assignment]
    site: str = "http://site.test/",
) -> Crawl:
    """Run a whole crawl through the frontier's Lua (seed, pop, complete): the seed page links to every
    url of ``dead`` (url -> [(referring page, anchor text)]) and ``ok``. The last ``complete`` ends the
    crawl and pushes its ended event, as a crawler would."""
    scripts = Scripts(store.r, store.keys)
    crawl = store.create(site, CrawlOptions(notify=notify))
    store.r.delete(store.keys.start)  # no crawler here: the test plays its part
    scripts.seed(crawl.id, crawl.url, time.time())
    pages = {site} | {page for refs in dead.values() for page, _ in refs}
    targets = [*dead, *ok, *sorted(pages - {site})]

    def links_of(page: str) -> list[tuple[str, str, str, str]]:
        out = []
        for url in targets:
            refs = [text for p, text in dead.get(url, []) if p == page]
            if page == site and url not in dead:
                refs = refs or [""]
            for text in refs:
                ref = json.dumps([page, text, "a", ""]) if url in dead else ""
                out.append((url, message(url, "check", 1), "", ref))
        return out

    while True:
        popped = scripts.pop(crawl.id, 10, "test-worker")
        if not popped:
            break
        for raw in popped:
            url = json.loads(raw)["u"]
            if url in dead:
                res = LinkResult(url=url, outcome="dead", status=404)
            else:
                res = LinkResult(url=url, outcome="ok", status=200)
            scripts.complete(
                crawl.id, url, res.to_json(), res.outcome, status_class(res.status),
                is_page=url in pages, redirected=False, now=time.time(), max_referrers=100, max_pages=0,
                links=links_of(url) if url in pages else [],
            )
    return store.require(crawl.id)


class WorkerProcess:
    """``python -m web.worker`` with its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web.worker"], cwd=ROOT, env={**os.environ, **env},
            stdout=self._fh, stderr=subprocess.STDOUT,
        )

    def kill_tree(self) -> None:
        """SIGKILL the worker, its work horse and its scheduler at once: a machine that died."""
        try:
            procs = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            procs = []
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGKILL)
        self.process.wait(10)
        psutil.wait_procs(procs, timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill_tree()
        self._fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def sent_markers(client: redis.Redis, crawl_id: str, prefix: str = "lp") -> dict[str, str]:
    return {str(k): str(v) for k, v in client.hgetall(Keys(prefix).mail_sent(crawl_id)).items()}
