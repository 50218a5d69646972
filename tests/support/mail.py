"""Helpers for the notification tests: crawls driven through the real frontier scripts, mail worker
processes (``python -m web.processes.worker``) and the environment that makes their retries quick."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Any

import psutil
import redis

from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.records import Crawl
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.processes import LoggedProcess

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
    **options: Any,
) -> Crawl:
    """A whole crawl through the frontier's Lua: the seed page links to every url of ``dead`` (url ->
    [(referring page, anchor text)]) and ``ok``. The last ``complete`` ends the crawl and pushes its
    ended event, as a crawler would. ``options``: more crawl options (``webhooks=[...]``...)."""
    referring = {page for refs in dead.values() for page, _ in refs}
    pages: dict[str, FakePage] = {url: FakePage(LinkResult(url, "dead", 404)) for url in dead}
    for page in referring | {site}:
        links = [(url, text) for url, refs in dead.items() for p, text in refs if p == page]
        if page == site:
            links += [(url, "") for url in [*ok, *sorted(referring - {site})]]
        pages[page] = FakePage(LinkResult(page, "ok", 200), links, is_page=True)
    return run_crawl(store, site, pages, CrawlOptions(notify=notify, **options), max_referrers=100)


class WorkerProcess(LoggedProcess):
    """``python -m web.processes.worker`` with its log in a file (appended to across restarts)."""

    def __init__(self, env: dict[str, str], log: Path, args: tuple[str, ...] = ()) -> None:
        super().__init__(["web.processes.worker", *args], env, log, append=True)

    def kill(self) -> None:
        self.kill_tree()

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


def sent_markers(client: redis.Redis, crawl_id: str, prefix: str = "lp") -> dict[str, str]:
    return {str(k): str(v) for k, v in client.hgetall(Keys(prefix).mail_sent(crawl_id)).items()}


