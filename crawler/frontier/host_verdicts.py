"""Host-level verdicts, the crawler's side (docs/ARCHITECTURE.md, "Host-level verdicts"): a request
that failed with a host-level kind (``crawler.failures.HOST_KINDS``) decides the host for the whole
crawl, a name that does not resolve at its first failure, a refusing port at its second refusal at least
``REFUSED_PAUSE`` after the first. Verdicts are shared through Redis
(``linkpatrol.frontier.host_verdicts``) and those of peers read every second for the crawls this
process works on. The spider and ``HostVerdictMiddleware`` ask ``verdict``; the per-host lease cap
does not hold back links to a decided host."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from crawler.frontier import in_background
from crawler.frontier.contexts import CrawlContexts
from linkpatrol.frontier.host_verdicts import HostVerdictStore
from linkpatrol.model.verdicts import ErrorKind
from linkpatrol.store.connection import retrying

logger = logging.getLogger(__name__)

# A refused port gets one more chance this many seconds after the first refusal before the whole
# host is decided; a name that does not resolve is decided at the first failure.
REFUSED_PAUSE = 1.0
READ_EVERY = 1.0  # seconds between reads of the verdicts peers recorded


class HostVerdicts:
    def __init__(self, store: HostVerdictStore, contexts: CrawlContexts) -> None:
        self.store = store
        self.contexts = contexts
        self.known: dict[str, dict[str, ErrorKind]] = {}  # crawl -> host -> kind
        self._refused: dict[tuple[str, str], float] = {}  # (crawl, host) -> first refusal
        self._read = 0.0  # when peers' verdicts were last read (monotonic)
        self._background: set[asyncio.Task[Any]] = set()

    def verdict(self, crawl_id: str, host: str) -> ErrorKind | None:
        """How every link of the crawl to ``host`` ends without a request, if the host is known dead."""
        verdicts = self.known.get(crawl_id)
        return verdicts.get(host) if verdicts else None

    def note_failure(self, crawl_id: str, host: str, kind: ErrorKind) -> None:
        """A request to ``host`` failed with a host-level kind: decide the host for the whole crawl
        (a refused port at its second refusal, at least REFUSED_PAUSE after the first)."""
        if not host or self.verdict(crawl_id, host) is not None:
            return
        if kind is ErrorKind.REFUSED:
            now = time.monotonic()
            first = self._refused.setdefault((crawl_id, host), now)
            if now - first < REFUSED_PAUSE:
                return
        self.known.setdefault(crawl_id, {})[host] = kind
        logger.info("crawl %s: %s answers %s; its other links there are decided without requests",
                    crawl_id, host, kind)
        in_background(self._background, retrying("recording a host verdict", lambda: self.store.record(
            crawl_id, host, kind)))

    async def refresh(self) -> None:
        """Every ``READ_EVERY`` seconds: learn the verdicts peers recorded; forget those of crawls no
        longer running."""
        now = time.monotonic()
        if now - self._read <= READ_EVERY:
            return
        active = self.contexts.active
        for crawl_id in list(self.known):
            if crawl_id not in active:
                del self.known[crawl_id]
        self._refused = {k: v for k, v in self._refused.items() if k[0] in active}
        for crawl_id, found in (await self.store.read([c for c in active if c in self.contexts])).items():
            known = self.known.setdefault(crawl_id, {})
            for host, kind in found.items():
                known.setdefault(host, kind)
        self._read = now
