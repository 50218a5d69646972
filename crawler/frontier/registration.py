"""This crawler in the crawler registry (``linkpatrol.store.registry``): its id, the heartbeat that
says it is alive and what it does, and the watchdog that gives its leases back and ends the process once
stopping hangs (``LINKPATROL_STOP_GRACE``)."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from crawler.frontier.leases import LeaseBook
from linkpatrol.frontier.leases import give_back_everything
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import Heartbeats

logger = logging.getLogger(__name__)


def new_crawler_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Registration:
    """The heartbeat: this crawler's entry in the registry, refreshed every TTL/4."""

    def __init__(self, heartbeats: Heartbeats, book: LeaseBook, render_pages: Callable[[], int]) -> None:
        self.heartbeats = heartbeats
        self.book = book
        self.render_pages = render_pages  # pages this crawler renders at once (crawler/render)
        self.started = time.time()

    @property
    def crawler_id(self) -> str:
        return self.heartbeats.crawler_id

    async def beat(self) -> None:
        await self.heartbeats.beat({
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": self.started,
            "seen": time.time(),
            "done": self.book.done,
            "held": self.book.held,
            "crawl": self.book.last_crawl,
            "render": self.render_pages(),
        })

    async def leave(self) -> None:
        await self.heartbeats.forget(self.crawler_id)


class StopWatchdog:
    """Once the engine began to stop (SIGTERM, SIGINT) it waits for every request under way, and a
    parse stuck in a thread (or a task that will never end) would hold it for ever: ``grace`` seconds
    later a thread gives this crawler's leases back with a client of its own (the loop may be stuck)
    and ends the process."""

    def __init__(self, keys: Keys, crawler_id: str, grace: float, sync_client: Callable[[], Any] | None) -> None:
        self.keys = keys
        self.crawler_id = crawler_id
        self.grace = grace  # LINKPATROL_STOP_GRACE; 0: no watchdog
        self.sync_client = sync_client
        self.engine_running: Callable[[], bool] = lambda: True  # set from_crawler: whether Scrapy's engine runs
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        if self._timer is not None or self.grace <= 0 or self.sync_client is None:
            return
        self._timer = threading.Timer(self.grace, self._force_stop)
        self._timer.daemon = True
        self._timer.start()

    def _force_stop(self) -> None:
        logger.warning("still stopping after %.0f s: giving the leases back and exiting now", self.grace)
        code = 0
        try:
            assert self.sync_client is not None
            returned = give_back_everything(self.sync_client(), self.keys, self.crawler_id)
            logger.info("returned %d in-flight requests to the frontier", returned)
        except Exception as exc:  # Redis away: a peer's reaper takes them once the heartbeat expires
            logger.warning("could not return in-flight requests (%s); the reaper of a peer will", exc)
            code = 1
        finally:
            for handler in logging.getLogger().handlers:
                with contextlib.suppress(Exception):
                    handler.flush()
            os._exit(code)
