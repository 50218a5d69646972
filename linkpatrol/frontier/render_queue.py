"""The render queue: pages of a crawl that need a browser wait here for a crawler that renders.

A crawl's ``render`` option (never, always, auto) says which of its pages are loaded in a headless
browser (``crawler/render``, docs/RENDERING.md). Only crawlers started with ``LINKPATROL_RENDER_PAGES``
above 0 can; the others **park** such a page (PARK, ``park.lua``): its lease stays in the crawl's
in-flight hash under the pseudo-worker ``~render`` (so the crawl cannot end while it waits) and its
message goes to the crawl's render queue, which only rendering crawlers lease from (POP, given that
list). Why a page is rendered is noted once per url (``render_why_<reason>`` in the record, url ->
reason in :render:why), so whoever leases it again (after a crash, a give-back) knows without reading
it again.

When pages wait and no live crawler can render for ``LINKPATROL_RENDER_WAIT`` seconds, a reaper runs
UNPARK (``unpark.lua``): the crawl is marked ``render_unavailable`` (its report says so), the parked
messages go back to the ordinary queue, and from then on its pages are read as they are, each a
``not-rendered`` warning. The crawl ends as any other.

Keys (under the crawl's, so deleting a crawl drops them): ``lp:crawl:{id}:render`` (list, the render
queue) and ``lp:crawl:{id}:render:why`` (hash, url -> reason).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from linkpatrol.store.keys import Keys

HERE = Path(__file__).resolve().parent
PARKED_TAG = "~render"  # the in-flight hash's "worker" of a parked lease
UNPARK_BATCH = 500

# PARK's answers
PARKED, NOTED, UNAVAILABLE, NOT_RUNNING, NOT_HELD = 1, 3, 2, 0, -1


def render_queue(keys: Keys, crawl_id: str) -> str:
    """List: messages of pages parked for a crawler that renders."""
    return f"{keys.crawl(crawl_id)}:render"


def render_why(keys: Keys, crawl_id: str) -> str:
    """Hash: url -> why it is rendered (``always``, or the rule of ``crawler.render.detect`` that matched)."""
    return f"{keys.crawl(crawl_id)}:render:why"


class RenderQueue:
    """The render queue's scripts bound to one client (asyncio or not, as the client is)."""

    def __init__(self, client: Any, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        self._park = client.register_script((HERE / "park.lua").read_text())
        self._unpark = client.register_script((HERE / "unpark.lua").read_text())
        self._pop = client.register_script((HERE / "pop.lua").read_text())

    def park(self, crawl_id: str, url: str, worker: str, message: str, reason: str) -> Any:
        """Note why ``url`` is rendered and, with ``worker``, park its lease (see ``park.lua``)."""
        k = self.keys
        return self._park(keys=[k.crawl(crawl_id), render_queue(k, crawl_id), k.inflight(crawl_id),
                                k.lease_clock(crawl_id), render_why(k, crawl_id)],
                          args=[url, worker, message, reason])

    def note(self, crawl_id: str, url: str, reason: str) -> Any:
        """Note why ``url`` is rendered (a crawler that renders it itself)."""
        return self.park(crawl_id, url, "", "", reason)

    def why(self, crawl_id: str, url: str) -> Any:
        """Why ``url`` was found to need rendering, or None."""
        return self.r.hget(render_why(self.keys, crawl_id), url)

    def pop(self, crawl_id: str, count: int, worker: str, now: float | None = None) -> Any:
        """Lease up to ``count`` parked pages to ``worker`` (POP over the render queue)."""
        k = self.keys
        return self._pop(keys=[k.crawl(crawl_id), render_queue(k, crawl_id), k.inflight(crawl_id),
                               k.lease_clock(crawl_id)],
                         args=[count, worker, repr(time.time() if now is None else now)])

    def waiting(self, crawl_ids: list[str]) -> Any:
        """How many pages wait in each crawl's render queue (a pipeline: one round trip)."""
        pipe = self.r.pipeline(transaction=False)
        for crawl_id in crawl_ids:
            pipe.llen(render_queue(self.keys, crawl_id))
        return pipe.execute()

    def unpark(self, crawl_id: str, now: float | None = None, batch: int = UNPARK_BATCH) -> Any:
        """Mark the crawl ``render_unavailable`` and move up to ``batch`` parked pages back to its queue."""
        k = self.keys
        return self._unpark(keys=[k.crawl(crawl_id), render_queue(k, crawl_id), k.inflight(crawl_id),
                                  k.queue(crawl_id)],
                            args=[repr(time.time() if now is None else now), batch])
