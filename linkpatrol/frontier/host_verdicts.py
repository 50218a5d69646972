"""Host-level verdicts of a crawl, shared by its crawlers: a host whose name does not resolve or whose
port refuses connections (``Keys.host_verdicts``: host -> error kind). Every crawler reads them for the
crawls it works on and decides the crawl's other links to such a host without a request
(docs/ARCHITECTURE.md, "Host-level verdicts"; the crawler's side is ``crawler/frontier/host_verdicts.py``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from linkpatrol.model.verdicts import ErrorKind
from linkpatrol.store.keys import Keys


class HostVerdictStore:
    """The crawls' host verdicts (asyncio client)."""

    def __init__(self, client: Any, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    async def record(self, crawl_id: str, host: str, kind: ErrorKind) -> None:
        await self.r.hset(self.keys.host_verdicts(crawl_id), host, str(kind))

    async def read(self, crawl_ids: Collection[str]) -> dict[str, dict[str, ErrorKind]]:
        """The verdicts of each of ``crawl_ids`` that has any, in one round trip."""
        if not crawl_ids:
            return {}
        crawls = list(crawl_ids)
        pipe = self.r.pipeline(transaction=False)
        for crawl_id in crawls:
            pipe.hgetall(self.keys.host_verdicts(crawl_id))
        return {crawl_id: {host: ErrorKind(kind) for host, kind in found.items()}
                for crawl_id, found in zip(crawls, await pipe.execute(), strict=True) if found}
