"""A failed link is a log line, not a traceback.

Scrapy's robots.txt middleware logs every robots.txt it cannot download (a host that does not resolve,
refuses, times out) at ERROR with a full traceback: on a crawl with many dead hosts that is most of the
log. The link itself is reported with its error kind, and the host-level verdict is logged once at
INFO by the frontier extension; so these become one DEBUG line each. Tracebacks stay for bugs.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.logformatter import LogFormatter, LogFormatterResult

ROBOTS_LOGGER = "scrapy.downloadermiddlewares.robotstxt"


class OneLineFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and str(record.msg).startswith("Error downloading"):
            exc = record.exc_info[1] if record.exc_info else None
            record.msg = "robots.txt unreachable for %(request)s: %(f_exception)s"
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.exc_info, record.exc_text = None, None
            if exc is not None and isinstance(record.args, dict):
                record.args = {**record.args, "f_exception": f"{type(exc).__name__}: {exc}"}
        return True


def quiet_robots_failures() -> None:
    """Install the filter once (idempotent)."""
    logger = logging.getLogger(ROBOTS_LOGGER)
    if not any(isinstance(f, OneLineFailures) for f in logger.filters):
        logger.addFilter(OneLineFailures())


class QuietLogFormatter(LogFormatter):
    """Scrapy's messages for every page crawled and every item scraped, only when DEBUG is printed.

    Scrapy builds a log record for each (its root logger passes everything; the handler then drops
    what is under LOG_LEVEL): about 2% of a crawler's CPU went to records nobody saw. Returning None
    skips the record."""

    def __init__(self, debug: bool) -> None:
        self.debug = debug

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        level = logging.getLevelName(str(crawler.settings.get("LOG_LEVEL", "DEBUG")).upper())
        return cls(debug=not isinstance(level, int) or level <= logging.DEBUG)

    def crawled(self, *args: Any, **kwargs: Any) -> LogFormatterResult | None:  # type: ignore[override]
        return super().crawled(*args, **kwargs) if self.debug else None

    def scraped(self, *args: Any, **kwargs: Any) -> LogFormatterResult | None:  # type: ignore[override]
        return super().scraped(*args, **kwargs) if self.debug else None
