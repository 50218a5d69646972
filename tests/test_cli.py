"""The operator's command line, run as a real subprocess against the test Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

from crawler.storage import CrawlStore
from tests.helpers import ROOT, CrawlerProcess, SiteServer, wait_for


def cli(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crawler", *args], cwd=ROOT, capture_output=True, text=True,
                          env={"REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"}, timeout=120)


def test_enqueue_status_report_delete(redis_url: str, store: CrawlStore, crawlers: Callable[..., CrawlerProcess],
                                      site: SiteServer) -> None:
    crawlers()
    out = cli(redis_url, "enqueue", site.url("main"), "--no-external", "--max-depth", "1", "--wait")
    assert out.returncode == 0, out.stderr
    crawl_id = out.stdout.splitlines()[0]
    status = json.loads(cli(redis_url, "status", crawl_id).stdout)
    assert status["state"] == "finished" and status["options"]["check_external"] is False
    broken = json.loads(cli(redis_url, "report", crawl_id).stdout)
    missing = next(b for b in broken if b["url"].endswith("/missing.html"))
    assert missing["status"] == 404 and missing["error"] is None
    assert {"page": site.url("main", "/"), "text": "Missing page"} in missing["referrers"]
    assert set(missing) == {"url", "status", "error", "referrers"}
    assert all(not b["url"].startswith(site.url("ext")) for b in broken)
    listed = [json.loads(line) for line in cli(redis_url, "list").stdout.splitlines()]
    assert [c["id"] for c in listed] == [crawl_id]
    workers = json.loads(cli(redis_url, "workers").stdout)
    assert len(workers) == 1 and workers[0]["pid"] > 0
    assert cli(redis_url, "delete", crawl_id).returncode == 0
    assert cli(redis_url, "status", crawl_id).returncode == 1


def test_cancel_and_bad_input(redis_url: str, store: CrawlStore) -> None:
    out = cli(redis_url, "enqueue", "ftp://example.org/")
    assert out.returncode == 2 and "only http and https" in out.stderr
    out = cli(redis_url, "enqueue", "http://example.org/", "--max-pages", "0")
    assert out.returncode == 2 and "max-pages" in out.stderr
    crawl_id = cli(redis_url, "enqueue", "http://example.org/").stdout.strip()
    assert cli(redis_url, "cancel", crawl_id).returncode == 0
    wait_for(lambda: store.require(crawl_id).state == "cancelled", 5)
    again = cli(redis_url, "cancel", crawl_id)
    assert again.returncode == 1 and "already cancelled" in again.stderr


def test_redis_down_is_a_clear_error() -> None:
    out = cli("redis://127.0.0.1:1/0", "list")
    assert out.returncode == 3 and "cannot reach Redis" in out.stderr
