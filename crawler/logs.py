"""A failed link is a log line, not a traceback.

Scrapy's robots.txt middleware logs every robots.txt it cannot download (a host that does not resolve,
refuses, times out) at ERROR with a full traceback: on a crawl with many dead hosts that is most of the
log. The link itself is reported with its error kind, and the host-level verdict is logged once at
INFO by the frontier extension; so these become one DEBUG line each. Tracebacks stay for bugs.
"""

from __future__ import annotations

import logging

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
