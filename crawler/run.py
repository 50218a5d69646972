"""``python -m crawler.run``: one crawler process of ``linkpatrol check``, what
``scrapy crawl links`` runs without Scrapy's command line, which imports every Scrapy command (the
shell, contracts, unittest...) at each start: about 0.06 s of a crawler's start-up. Settings come from
``SCRAPY_SETTINGS_MODULE`` (``crawler.settings``) as for ``scrapy crawl links``; the exit code is 1 when
the crawler could not start, as there."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

from crawler.extensions import collector

# No cyclic collection while the crawler starts (about 0.1 s of its start): it resumes once the engine
# runs, with what start-up built frozen out of it (crawler/extensions/collector.py).
collector.pause()

# After the pause, which is the point:
from crawler.download.unused_trust import import_aiohttp  # noqa: E402

import_aiohttp()  # first, before anything imports it with its two unused contexts (38 ms of a start)

from scrapy.crawler import AsyncCrawlerProcess, CrawlerProcess  # noqa: E402
from scrapy.utils.project import get_project_settings  # noqa: E402
from scrapy.utils.reactor import _asyncio_reactor_path  # noqa: E402

from linkpatrol.cli.warm_crawlers import WARM  # noqa: E402

SPIDER = "links"


def told_environment() -> bool:
    """A warm start (``linkpatrol.cli.warm_crawlers``): import what does not depend on the environment,
    then take the environment the check decided, one JSON line on stdin. False when none comes (the
    command went away or needed no crawler): nothing to start. Anything but a JSON object of strings
    ends the process with a message (exit code 1), before any setting is read. Told, the crawler ends
    with the command (``end_with_the_command``)."""
    import crawler.spiders.links  # noqa: F401 - most of a start's imports, read before the settings

    line = sys.stdin.readline()
    if not line:
        return False
    try:
        told = json.loads(line)
    except ValueError:
        told = None
    if not isinstance(told, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in told.items()):
        raise SystemExit("crawler: the environment on stdin is not one JSON object of strings")
    os.environ.clear()
    os.environ.update(told)
    threading.Thread(target=end_with_the_command, daemon=True, name="command-watch").start()
    return True


def end_with_the_command() -> None:
    """The check keeps a warm crawler's stdin open for as long as it runs. Should it end without
    stopping the crawler (SIGKILL, a crash: a CI job's timeout), the end of the input stops the crawler
    as its SIGTERM does: on a shared Redis it gives back what it holds instead of crawling on for no one
    (and the frontier's watchdog ends it ``LINKPATROL_STOP_GRACE`` seconds later if stopping hangs)."""
    # The descriptor itself, not sys.stdin: no buffer lock held by a daemon thread at the interpreter's end.
    while os.read(sys.stdin.fileno(), 65536):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def main() -> int:
    if os.environ.get(WARM) == "1" and not told_environment():
        return 0
    settings = get_project_settings()
    # The choice scrapy.cmdline makes for ``scrapy crawl``.
    process: AsyncCrawlerProcess | CrawlerProcess
    if (settings["TWISTED_REACTOR"] == _asyncio_reactor_path and not settings.getbool("FORCE_CRAWLER_PROCESS")) \
            or not settings.getbool("TWISTED_REACTOR_ENABLED"):
        process = AsyncCrawlerProcess(settings)
    else:
        process = CrawlerProcess(settings)
    process.crawl(SPIDER)
    process.start()
    return 1 if process.bootstrap_failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
