"""Shared fixtures: a private redis-server on a free port, the fixture sites, crawler processes, the web
app, an SMTP server and mail worker processes."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis

from linkpatrol.cli.redis_server import RedisServer, free_port
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer
from tests.support.sites.fixture import closed_port

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

    from tests.support.mail import WorkerProcess
    from tests.support.smtp import SMTPServer


# -- every test -------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _nothing_left_open() -> Iterator[None]:
    """At each test's end: every app it made (tests.support.webapp.make_app) has its Redis connections
    closed (looked up, not imported: tests without an app load no Flask), then the garbage is collected.
    A socket or transport the test left open warns now, failing this test's teardown, instead of at
    some later collection in whatever test runs then (CI once failed a resolver test for a TLS
    connection another test had left). What survives is then frozen out of the collector's walks: a
    full collection of a test process's heap takes about 30 ms, of what one test made a fraction. The
    price: a cycle made by an earlier test and freed later (a module's fixture) is never collected, so
    such fixtures close what they opened themselves."""
    yield
    made = sys.modules.get("tests.support.webapp")
    if made is not None:
        made.close_apps()
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A clean database on the private server for each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def rclient(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def store(rclient: redis.Redis) -> CrawlStore:
    return CrawlStore(rclient)


@pytest.fixture(scope="session")
def refused_port() -> int:
    return closed_port()


@pytest.fixture(scope="session")
def site(refused_port: int) -> Iterator[SiteServer]:
    server = SiteServer("fixture", str(refused_port))
    yield server
    server.stop()


@pytest.fixture
def crawlers(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., CrawlerProcess]]:
    """A factory of crawler processes bound to the test's Redis; all are stopped after the test."""
    started: list[CrawlerProcess] = []

    def start(env: dict[str, str] | None = None, url: str | None = None, args: list[str] | None = None,
              ) -> CrawlerProcess:
        proc = CrawlerProcess(url or redis_url, tmp_path / f"crawler-{len(started)}.log", env, args)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop(timeout=10)


@pytest.fixture
def browser_page() -> Iterator[object]:
    """A page in headless chromium (Debian's, driven by Playwright); closed after the test."""
    from tests.support.browser import chromium_page

    with chromium_page() as page:
        yield page


# -- the web app and the mail worker (tests/web, tests/mail, tests/e2e) --------------------------------
@pytest.fixture
def app(redis_url: str) -> Flask:
    """The web app bound to the test's Redis (no CSRF, no rate limit: see tests.support.webapp)."""
    from tests.support.webapp import make_app

    return make_app(redis_url)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c


@pytest.fixture
def outbox_client(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FlaskClient, Path]:
    """The app's test client with mail going to a folder, for tests that run a mail job in-process
    (the job reads its settings from the environment). Returns the client and the outbox folder."""
    from tests.support.mail import FAST_ENV
    from tests.support.webapp import make_app
    from web.notifications.settings import MailSettings

    outbox = tmp_path / "outbox"
    for name, value in {**FAST_ENV, "REDIS_URL": redis_url, "LINKPATROL_MAIL_DIR": str(outbox),
                        "LINKPATROL_SMTP_HOST": ""}.items():
        monkeypatch.setenv(name, value)
    return make_app(redis_url, MAIL_SETTINGS=MailSettings.from_env()).test_client(), outbox


@pytest.fixture
def rq_conn(redis_url: str) -> Iterator[redis.Redis]:
    """A client for RQ (it stores pickles: replies are not decoded)."""
    conn = redis.Redis.from_url(redis_url)
    yield conn
    conn.close()


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp(smtp_port: int) -> Iterator[SMTPServer]:
    """A real SMTP server (aiosmtpd) on loopback, recording what it accepts."""
    from tests.support.smtp import SMTPServer

    server = SMTPServer(smtp_port).start()
    yield server
    server.stop()


@pytest.fixture
def mail_workers(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], WorkerProcess]]:
    """A factory of ``python -m web.processes.worker`` processes; all are stopped after the test."""
    from tests.support.mail import WorkerProcess

    started: list[WorkerProcess] = []

    def start(env: dict[str, str]) -> WorkerProcess:
        proc = WorkerProcess(env, tmp_path / f"mail-worker-{len(started)}.log")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
