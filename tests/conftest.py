"""Shared fixtures: a private redis-server on a free port, the fixture sites, crawler processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from crawler.redis_server import RedisServer
from crawler.storage import CrawlStore
from tests.helpers import CrawlerProcess, SiteServer
from tests.sites.fixture import closed_port


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

    def start(env: dict[str, str] | None = None, url: str | None = None) -> CrawlerProcess:
        proc = CrawlerProcess(url or redis_url, tmp_path / f"crawler-{len(started)}.log", env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop(timeout=10)


@pytest.fixture
def browser_page() -> Iterator[object]:
    """A page in headless chromium (Debian's, driven by Playwright); closed after the test."""
    from tests.browser import chromium_page

    with chromium_page() as page:
        yield page
