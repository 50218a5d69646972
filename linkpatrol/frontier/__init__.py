"""The shared frontier: atomic Lua scripts (the ``.lua`` files beside this module) over the keys of
``linkpatrol.keys``.

Requests are leased, not popped: POP moves a message from the crawl's queue into its in-flight hash,
tagged with the worker that holds it; COMPLETE records the result, queues the new links (deduplicated
per crawl), releases the lease and, in the same atomic step, detects that the crawl has nothing queued
and nothing in flight: so a crawl finishes exactly once, whichever process sees it. A worker whose
heartbeat key expired has its leases put back by REQUEUE. COMPLETE is idempotent: a url that already
has a result is not counted or expanded twice, so a request done twice (after a worker was wrongly
thought dead) changes nothing. Each script's file documents its KEYS and ARGV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linkpatrol.keys import Keys
from linkpatrol.verdicts import ErrorKind, Outcome
from linkpatrol.wire import Completion, FrontierMessage, LinkResult, MessageKind

HERE = Path(__file__).resolve().parent
# The stored result of a missing anchor (its url is "page#name"): one constant, encoded by the wire format.
MISSING_ANCHOR_RESULT = LinkResult("", Outcome.MISSING_ANCHOR, error=ErrorKind.MISSING_ANCHOR).to_json()


def script(name: str) -> str:
    """The source of one of the frontier's Lua scripts."""
    return (HERE / f"{name}.lua").read_text()


class Scripts:
    """The frontier scripts bound to one client; sync or asyncio, as the client is."""

    def __init__(self, client: Any, keys: Keys) -> None:
        self.keys = keys
        self._seed = client.register_script(script("seed"))
        self._pop = client.register_script(script("pop"))
        self._complete = client.register_script(script("complete"))
        self._cancel = client.register_script(script("cancel"))
        self._requeue = client.register_script(script("requeue"))

    def seed(self, crawl_id: str, url: str, now: float) -> Any:
        k = self.keys
        return self._seed(
            keys=[k.crawl(crawl_id), k.urls(crawl_id), k.queue(crawl_id), k.active],
            args=[crawl_id, FrontierMessage(url, MessageKind.PAGE, 0).encode(), url, repr(now)],
        )

    def pop(self, crawl_id: str, count: int, worker: str) -> Any:
        k = self.keys
        return self._pop(
            keys=[k.crawl(crawl_id), k.queue(crawl_id), k.inflight(crawl_id)],
            args=[count, worker],
        )

    def complete(self, done: Completion, *, now: float, max_referrers: int) -> Any:
        """Record ``done``. Returns 2 when this call finished the crawl, 1 otherwise, -1 when the crawl
        is gone."""
        k = self.keys
        crawl_id, res = done.crawl_id, done.result
        args: list[Any] = [
            res.url,
            res.to_json(),
            str(res.outcome),
            res.status_class,
            done.page_flag,
            "1" if res.redirects else "0",
            repr(now),
            k.refs_prefix(crawl_id),
            max_referrers,
            crawl_id,
            str(done.method),
            done.retries,
            str(res.error or ""),
            done.anchors_arg,
            MISSING_ANCHOR_RESULT,
            k.wanted_prefix(crawl_id),
            "1" if done.from_sitemap else "0",
        ]
        for link in done.links:
            args.extend(link.args())
        return self._complete(
            keys=[
                k.crawl(crawl_id),
                k.urls(crawl_id),
                k.queue(crawl_id),
                k.inflight(crawl_id),
                k.active,
                k.problems(crawl_id),
                k.redirects(crawl_id),
                k.finished_events,
                k.anchors(crawl_id),
                k.orphan_candidates(crawl_id),
            ],
            args=args,
        )

    def cancel(self, crawl_id: str, now: float) -> Any:
        k = self.keys
        return self._cancel(
            keys=[k.crawl(crawl_id), k.queue(crawl_id), k.active, k.finished_events],
            args=[crawl_id, repr(now)],
        )

    def requeue(self, crawl_id: str, worker: str, urls: list[str] | None = None, *, tail: bool = False) -> Any:
        """Put the worker's leases back in the queue: all of them, or only ``urls``; at the head (work
        that was interrupted goes first) or, with ``tail``, at the end (work put off on purpose)."""
        if urls is not None and not urls:
            return 0  # the script reads "no urls" as "all of them"
        k = self.keys
        return self._requeue(
            keys=[k.crawl(crawl_id), k.queue(crawl_id), k.inflight(crawl_id)],
            args=[worker, "tail" if tail else "head", *(urls or [])],
        )
