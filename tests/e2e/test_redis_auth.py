"""A Redis that refuses us (no password, a wrong one, a user without the rights linkpatrol needs):
crawlers and the command line say so in one line and give up within a bound, instead of waiting in
silence; the web app answers 503."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.store.connection import REFUSED_WAIT
from tests.support.processes import CrawlerProcess, linkpatrol_cli
from tests.support.webapp import make_app

PASSWORD = "s3cret-pass"
# A crawler's start-up (Scrapy, the project's imports) on a loaded machine, on top of the wait.
STARTUP = 40.0


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private Redis with a password, and a user ``pinger`` that may only PING."""
    server = RedisServer(tmp_path_factory.mktemp("redis-auth"), persistent=False, password=PASSWORD).start()
    admin = redis.Redis.from_url(server.url)
    admin.acl_setuser("pinger", enabled=True, passwords=["+pinger-pass"], commands=["+ping"])
    admin.close()
    yield server
    server.stop()


def _urls(server: RedisServer) -> dict[str, str]:
    at = f"127.0.0.1:{server.port}/0"
    return {"wrong password": f"redis://:wrong@{at}", "no password": f"redis://{at}",
            "no rights": f"redis://pinger:pinger-pass@{at}"}


def test_crawlers_refused_by_redis_exit_with_one_line(locked: RedisServer, tmp_path: Path) -> None:
    procs = {why: CrawlerProcess(url, tmp_path / f"{why.replace(' ', '-')}.log")
             for why, url in _urls(locked).items()}
    started = time.monotonic()
    try:
        for why, proc in procs.items():
            remaining = STARTUP + REFUSED_WAIT - (time.monotonic() - started)
            try:
                code = proc.process.wait(max(remaining, 1))
            except subprocess.TimeoutExpired:
                pytest.fail(f"the crawler with {why} still runs after {STARTUP + REFUSED_WAIT:g} s")
            assert code == 3, why
            log = proc.output()
            said = [line for line in log.splitlines() if "refused" in line]
            assert len(said) == 1, (why, said)
            assert "giving up on start-up after" in said[0] or "giving up on crawler registration" in said[0]
            expected = "lacks a permission" if why == "no rights" else "refused our credentials"
            assert expected in said[0] and ("REDIS_URL" in said[0] or "ACL" in said[0])
            assert "Traceback" not in log and PASSWORD not in log
    finally:
        for proc in procs.values():
            proc.stop(timeout=5)


@pytest.mark.parametrize(("why", "expected"), [("wrong password", "refused our credentials"),
                                               ("no password", "refused our credentials"),
                                               ("no rights", "lacks a permission")])
def test_the_cli_says_redis_refused_us(locked: RedisServer, why: str, expected: str) -> None:
    done = linkpatrol_cli(_urls(locked)[why], "list")
    assert done.returncode == 3
    (line,) = done.stderr.splitlines()
    assert expected in line and f"127.0.0.1:{locked.port}" in line and "wrong" not in line


@pytest.mark.parametrize("why", ["wrong password", "no rights"])
def test_the_web_app_answers_503(locked: RedisServer, why: str, caplog: pytest.LogCaptureFixture) -> None:
    client = make_app(_urls(locked)[why]).test_client()
    resp = client.get("/api/crawls", headers={"Accept": "application/json"})
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    if why == "no rights":  # the operator's log names the cause
        assert any("lacks a permission" in r.getMessage() for r in caplog.records)



@pytest.mark.parametrize(("why", "expected"), [("wrong password", "refused our credentials"),
                                               ("no rights", "lacks a permission")])
def test_the_mail_worker_says_redis_refused_us(locked: RedisServer, why: str, expected: str) -> None:
    """At once, not after its patience with a Redis that cannot serve (two minutes)."""
    started = time.monotonic()
    done = linkpatrol_cli(_urls(locked)[why], "--burst", module="web.processes.worker")
    assert done.returncode == 3, done.stderr
    said = [line for line in done.stderr.splitlines() if "refused" in line]
    assert len(said) == 1 and expected in said[0] and PASSWORD not in done.stderr
    assert time.monotonic() - started < 30
