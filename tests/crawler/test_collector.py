"""The garbage collector in a crawler process (``crawler/extensions/collector.py``): paused while
``python -m crawler.run`` starts, and never left paused once the engine runs."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler

from crawler import settings
from crawler.extensions import collector
from tests.support.processes import ROOT


@pytest.fixture
def collector_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test process's collector as it was, whatever the test did to it."""
    monkeypatch.setattr(collector, "_frozen", False)
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_a_crawler_process_starts_with_the_collector_paused() -> None:
    code = "import gc, crawler.run; print(gc.isenabled())"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_crawler_resumes_collection_when_its_engine_starts() -> None:
    assert settings.EXTENSIONS.get("crawler.extensions.collector.StartupCollector") is not None


def engine_started(crawler: Crawler) -> None:
    async def send() -> None:  # Scrapy's signals expect a running loop
        crawler.signals.send_catch_log(signals.engine_started)

    asyncio.run(send())


@pytest.mark.usefixtures("collector_state")
def test_the_engine_start_freezes_what_start_up_built_and_resumes_collection() -> None:
    crawler = get_crawler(Spider)
    extension = collector.StartupCollector.from_crawler(crawler)  # kept, as the extension manager keeps it
    collector.pause()
    start_up = [object() for _ in range(100)]  # what start-up built, alive
    assert not gc.isenabled()
    engine_started(crawler)
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    assert frozen >= len(start_up)
    # A second engine in the same process (tests run several) freezes nothing more: what the first
    # crawl made stays collectable.
    more = [object() for _ in range(100)]
    collector.pause()
    engine_started(crawler)
    assert gc.isenabled() and gc.get_freeze_count() < frozen + len(more) and extension
