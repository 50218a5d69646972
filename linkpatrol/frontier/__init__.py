"""The shared frontier: atomic Lua scripts (the ``.lua`` files beside this module) over the keys of
``linkpatrol.store.keys``.

Requests are leased, not popped: POP moves a message from the crawl's queue into its in-flight hash,
tagged with the crawler that holds it. While the lease is held, LINKS queues the links the url holds
(deduplicated per crawl), a bounded batch per call; then COMPLETE settles the #anchors other pages asked
of it (a bounded batch per call, as many calls as it takes; a url that redirected hands them on to
the page it landed on, ``Completion.landing``), records the result, releases the lease
and, in the same atomic step, detects that the crawl has nothing queued and nothing in flight:
so a crawl finishes exactly once, whichever process sees it. A crawler whose heartbeat key expired has
its leases put back by REQUEUE. A lease whose clock (started by POP, renewed by its crawler while
the request waits its turn for the downloader) runs past a bound is taken over by OVERDUE and decided
(``timeout``) by the reaper that took it: a bug that loses a lease costs one url, never a crawl.
LINKS and COMPLETE are idempotent: a url that already has a result is
not counted or expanded twice, so a request done twice (after a crawler was wrongly thought dead)
changes nothing. SEED starts a crawl with its limits settled, STOP ends one at its time limit, CANCEL
at a person's request. Each script's file documents its KEYS and ARGV.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import redis.asyncio

from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.traps import id_template, link_shape
from linkpatrol.model.verdicts import ErrorKind, Outcome
from linkpatrol.model.wire import Completion, FrontierMessage, LinkResult, MessageKind, compact_json
from linkpatrol.store.keys import Keys

HERE = Path(__file__).resolve().parent
# The stored result of a missing anchor (its url is "page#name"): one constant, encoded by the wire format.
MISSING_ANCHOR_RESULT = LinkResult("", Outcome.MISSING_ANCHOR, error=ErrorKind.MISSING_ANCHOR).to_json()
# Links per LINKS call: 300 arguments and about 300 O(1) commands, about a millisecond of Redis time
# however many links a page holds (bench/huge_page.py measures it; a 560,000-link page used to take one
# call of 6 s, and every other client got BUSY meanwhile).
LINK_BATCH = 50
# Anchors asked of a page before it was read, settled per COMPLETE call (see complete.lua): a few
# commands each, about a millisecond a call (tests/core/test_frontier_wanted.py measures it).
WANT_BATCH = 100
# Pages over the per-page link cap named each (with how many links were not taken) per crawl; past
# them the record still counts the pages and the links.
OVER_CAP_PAGES = 1000
# COMPLETE's answer while anchors asked of the page are left to settle: nothing recorded, call again.
SETTLING = 3
# Leases OVERDUE takes over per call.
OVERDUE_BATCH = 100


@dataclass(frozen=True)
class CrawlLimits:
    """The crawlers' defaults for the limits a crawl leaves unset (LINKPATROL_MAX_PAGES, _MAX_DEPTH,
    _MAX_DURATION; 0 means no limit), applied when the crawl starts (SEED)."""

    max_pages: int = 0
    max_depth: int = 0
    max_duration: int = 0

    def apply(self, options: CrawlOptions) -> CrawlOptions:
        return replace(
            options,
            max_pages=options.max_pages or self.max_pages or None,
            max_depth=options.max_depth if options.max_depth is not None else (self.max_depth or None),
            max_duration=options.max_duration or self.max_duration or None,
        )


@dataclass(frozen=True)
class OverdueLease:
    """A lease taken over to be decided: by OVERDUE (held past the bound), or by REQUEUE of a dead
    crawler (its message reached the attempt bound). Its url, the crawler that held it, its message."""

    url: str
    crawler: str
    message: FrontierMessage

    @staticmethod
    def parse(reply: list[Any]) -> list[OverdueLease]:
        return [OverdueLease(reply[i], reply[i + 1], FrontierMessage.decode(reply[i + 2]))
                for i in range(0, len(reply) - 2, 3)]

    def completion(self, crawl_id: str, external: bool) -> Completion:
        """Its verdict: ``timeout``, nothing found (the url is decided, never queued again)."""
        kind = ErrorKind.TIMEOUT
        return Completion(crawl_id, LinkResult(self.url, kind.outcome, error=kind, external=external))


# The scripts that use the shared helpers of ``prelude.lua`` (anchors, the page budget).
PRELUDE_USERS = frozenset({"links", "complete"})


def script(name: str) -> str:
    """The text Redis runs for one of the frontier's Lua scripts: ``prelude.lua`` first for those that
    use it, each part under a comment naming its file, so the running text (``SCRIPT`` errors, a
    ``redis-cli`` user reading it) says where every line comes from."""
    text = (HERE / f"{name}.lua").read_text()
    if name not in PRELUDE_USERS:
        return text
    return f"-- part: prelude.lua\n{(HERE / 'prelude.lua').read_text()}\n-- part: {name}.lua\n{text}"


class Scripts:
    """The frontier scripts bound to one client; sync or asyncio, as the client is."""

    def __init__(self, client: Any, keys: Keys) -> None:
        self.keys = keys
        self._seed = client.register_script(script("seed"))
        self._pop = client.register_script(script("pop"))
        self._complete = client.register_script(script("complete"))
        self._links = client.register_script(script("links"))
        self._is_async = isinstance(client, redis.asyncio.Redis)
        self._cancel = client.register_script(script("cancel"))
        self._requeue = client.register_script(script("requeue"))
        self._stop = client.register_script(script("stop"))
        self._overdue = client.register_script(script("overdue"))

    def seed(self, crawl_id: str, url: str, now: float, options: CrawlOptions | None = None) -> Any:
        """Start a queued crawl; ``options``: its options with the crawlers' defaults filled in
        (``CrawlLimits.apply``), written into the record in the same step."""
        k = self.keys
        limits: list[Any] = []
        if options is not None:
            limits = [options.to_json(), options.max_pages or 0,
                      "" if options.max_depth is None else options.max_depth, options.max_duration or ""]
        return self._seed(
            keys=[k.crawl(crawl_id), k.urls(crawl_id), k.queue(crawl_id), k.active],
            args=[crawl_id, FrontierMessage(url, MessageKind.PAGE, 0).encode(), url, repr(now), *limits],
        )

    def stop(self, crawl_id: str, now: float, flag: str = "limit_duration") -> Any:
        """End a running crawl that reached a limit of its own; ``flag`` says which."""
        k = self.keys
        return self._stop(
            keys=[k.crawl(crawl_id), k.queue(crawl_id), k.active, k.ended_events],
            args=[crawl_id, repr(now), flag],
        )

    def pop(self, crawl_id: str, count: int, crawler: str, now: float | None = None) -> Any:
        """Lease up to ``count`` messages to ``crawler``; their lease clocks start at ``now``."""
        k = self.keys
        return self._pop(
            keys=[k.crawl(crawl_id), k.queue(crawl_id), k.inflight(crawl_id), k.lease_clock(crawl_id)],
            args=[count, crawler, repr(time.time() if now is None else now)],
        )

    def overdue(self, crawl_id: str, cutoff: float, crawler: str, limit: int = OVERDUE_BATCH) -> Any:
        """Take over (for ``crawler``) the leases of the crawl whose clock started at or before
        ``cutoff``; the reply reads with ``OverdueLease.parse``. The taker records each
        (``OverdueLease.completion``), as it would a url it checked."""
        k = self.keys
        return self._overdue(keys=[k.inflight(crawl_id), k.lease_clock(crawl_id)],
                             args=[repr(cutoff), crawler, limit])

    def complete(self, done: Completion, *, now: float, max_referrers: int, id_limit: int = 0) -> Any:
        """Record ``done``: its links in batches (LINKS), then its result and the lease release
        (COMPLETE). Returns 2 when this call finished the crawl, 1 otherwise, -1 when the crawl is gone
        (an awaitable of that with an asyncio client). A crawler that wants to retry each call on
        its own uses ``completion_steps``."""
        steps = self.completion_steps(done, now=now, max_referrers=max_referrers, id_limit=id_limit)
        if self._is_async:
            async def run() -> Any:
                result = None
                for step in steps:
                    result = await step()
                return result
            return run()
        result = None
        for step in steps:
            result = step()
        return result

    def completion_steps(self, done: Completion, *, now: float, max_referrers: int, id_limit: int = 0,
                         batch: int = LINK_BATCH, want_batch: int = WANT_BATCH, until_recorded: bool = True,
                         ) -> list[ScriptCall]:
        """The Redis calls that record ``done``, in order, each bounded: a LINKS call per ``batch``
        links, then COMPLETE (one step that calls it until the anchors asked of the url are settled,
        ``want_batch`` per call; with ``until_recorded`` False, one COMPLETE call that answers
        SETTLING while some are left). Each may be retried on its own (all are idempotent).
        ``id_limit``: urls of one id template followed at most (``linkpatrol.model.traps``; 0: no limit).
        Each script takes its arguments in one JSON header (its ARGV[1]; the scripts document its
        fields), LINKS then six arguments per link, COMPLETE the page's anchors."""
        k = self.keys
        crawl_id, res = done.crawl_id, done.result
        steps: list[ScriptCall] = []
        links_keys = [k.crawl(crawl_id), k.urls(crawl_id), k.queue(crawl_id), k.problems(crawl_id),
                      k.anchors(crawl_id), k.orphan_candidates(crawl_id), k.page_decisions(crawl_id),
                      k.id_templates(crawl_id), k.held_back(crawl_id), k.refs_over(crawl_id), k.landed(crawl_id)]
        head = [compact_json({
            "url": res.url, "page": done.page_flag, "refs": k.refs_prefix(crawl_id), "max_refs": max_referrers,
            "missing": MISSING_ANCHOR_RESULT, "wanted": k.wanted_prefix(crawl_id),
            "listing": int(done.from_sitemap), "id_limit": id_limit})]
        args = _link_args(done)
        per_call = 6 * batch
        for start in range(0, len(args), per_call):
            steps.append(ScriptCall(self._links, links_keys, head + args[start:start + per_call]))
        over_cap = done.links_over_cap
        complete_args = [compact_json({
            "url": res.url,
            "result": res.to_json(),
            "outcome": str(res.outcome),
            "class": res.status_class,
            "page": done.page_flag,
            "redirected": int(bool(res.redirects)),
            "now": repr(now),
            "crawl": crawl_id,
            "method": str(done.method),
            "retries": done.retries,
            "error": str(res.error or ""),
            "refs": k.refs_prefix(crawl_id),
            "wanted": k.wanted_prefix(crawl_id),
            "missing": MISSING_ANCHOR_RESULT,
            "over_cap": over_cap,
            "link_cap": done.link_cap if over_cap else 0,
            "depth_limited": int(done.depth_limited),
            "per_call": want_batch,
            "landing": done.landing,
            "missing_here": missing_anchor_result(done),
            "named_pages": OVER_CAP_PAGES,
        }), done.anchors_arg]  # the anchors apart, as they are: no call decodes 90 KB of JSON
        complete_keys = [
            k.crawl(crawl_id),
            k.urls(crawl_id),
            k.queue(crawl_id),
            k.inflight(crawl_id),
            k.active,
            k.problems(crawl_id),
            k.redirects(crawl_id),
            k.ended_events,
            k.anchors(crawl_id),
            k.page_decisions(crawl_id),
            k.held_back(crawl_id),
            k.lease_clock(crawl_id),
            k.refs_over(crawl_id),
            k.landed(crawl_id),
            k.over_cap_pages(crawl_id),
        ]
        steps.append(ScriptCall(self._complete, complete_keys, complete_args, until_recorded=until_recorded,
                                is_async=self._is_async))
        return steps

    def cancel(self, crawl_id: str, now: float) -> Any:
        k = self.keys
        return self._cancel(
            keys=[k.crawl(crawl_id), k.queue(crawl_id), k.active, k.ended_events],
            args=[crawl_id, repr(now)],
        )

    def requeue(self, crawl_id: str, crawler: str, urls: list[str] | None = None, *, tail: bool = False) -> Any:
        """Put the crawler's leases back in the queue: all of them, or only ``urls``; at the head (work
        that was interrupted goes first) or, with ``tail``, at the end (work put off on purpose)."""
        if urls is not None and not urls:
            return 0  # the script reads "no urls" as "all of them"
        k = self.keys
        return self._requeue(
            keys=[k.crawl(crawl_id), k.queue(crawl_id), k.inflight(crawl_id), k.lease_clock(crawl_id)],
            args=[crawler, "tail" if tail else "head", *(urls or [])],
        )

    def requeue_dead(self, crawl_id: str, crawler: str, taker: str, max_attempts: int) -> Any:
        """Put back the leases of ``crawler``, which stopped answering (its heartbeat expired), each
        message's attempt count one higher; one that reaches ``max_attempts`` (0: no bound), a url
        that stopped that many crawlers, is taken over by ``taker`` to be decided instead. The reply
        reads with ``dead_requeued``."""
        k = self.keys
        return self._requeue(
            keys=[k.crawl(crawl_id), k.queue(crawl_id), k.inflight(crawl_id), k.lease_clock(crawl_id)],
            args=[crawler, "dead", taker, max_attempts],
        )


def missing_anchor_result(done: Completion) -> str:
    """The stored result of a missing anchor of ``done``'s url: for a url that redirected, it names the
    page it landed on (``final_url``, whose anchors decided) and the redirects."""
    landing = done.landing
    if not landing:
        return MISSING_ANCHOR_RESULT
    return LinkResult("", Outcome.MISSING_ANCHOR, error=ErrorKind.MISSING_ANCHOR, final_url=landing,
                      redirects=done.result.redirects).to_json()


def dead_requeued(reply: list[Any]) -> tuple[int, list[OverdueLease]]:
    """REQUEUE's reply for a dead crawler: how many leases went back, and those taken over."""
    return int(reply[0]), OverdueLease.parse(reply[1:])


@dataclass(frozen=True)
class ScriptCall:
    """One call of a frontier script, as a step (call it: the reply, or an awaitable of it with an
    asyncio client) or as what a pipeline carries (``script.sha``, ``keys``, ``args``).
    ``until_recorded``: COMPLETE, called again while it answers SETTLING (still settling wanted
    anchors)."""

    script: Any
    keys: list[str]
    args: list[Any]
    until_recorded: bool = False
    is_async: bool = False

    def __call__(self) -> Any:
        if not self.until_recorded:
            return self.script(keys=self.keys, args=self.args)
        if self.is_async:
            return self._until_recorded_async()
        while (result := self.script(keys=self.keys, args=self.args)) == SETTLING:
            pass
        return result

    async def _until_recorded_async(self) -> Any:
        while (result := await self.script(keys=self.keys, args=self.args)) == SETTLING:
            pass
        return result


def _link_args(done: Completion) -> list[str]:
    """LINKS's six arguments per link, one flat list (the page's links are in memory already; the
    calls take it in batches). An anchor of the checked page itself is decided here, from the
    anchors the crawler read (the page has no stored anchors until COMPLETE): "" when it exists or
    the page was not read for anchors, "!hash\tname" when it is missing. A page to follow gets its
    trap argument (``linkpatrol.model.traps``)."""
    url = done.result.url
    page_template = _id_template(url)
    flat: list[str] = []
    add = flat.extend
    for link in done.links:
        target, message, over_budget, referrer, anchor = link.args()
        if anchor and target == url:
            # args() gave "hash\tname"; missing from this very page, it is marked "!hash\tname".
            anchor = "" if done.anchors is None or link.anchor in done.anchors else "!" + anchor
        add((target, message, over_budget, referrer, anchor, _trap_arg(link.message, page_template)))
    return flat


def _trap_arg(message: FrontierMessage, page_template: tuple[str, str] | None) -> str:
    """A page link's trap argument. Only a link from a page of the same id template is counted: a
    chain (``/day/17`` -> ``/day/18``), not a catalogue's listing of its items."""
    if message.kind is not MessageKind.PAGE:
        return ""
    static, found = _page_link_shape(message.url)
    if static:
        return static
    return f"C\t{found[1]}\t{found[0]}" if found and found == page_template else ""


# A site's pages link the same urls over and over (navigation, the next page, the parent): their shapes
# are remembered for the last SHAPE_CACHE urls instead of parsed per link (12 µs a page of the benchmark
# site, about 1% of a crawler's CPU). Both are functions of the url alone; a few MB at most for urls of
# a few KB.
SHAPE_CACHE = 2048


@functools.lru_cache(maxsize=SHAPE_CACHE)
def _id_template(url: str) -> tuple[str, str] | None:
    return id_template(url)


@functools.lru_cache(maxsize=SHAPE_CACHE)
def _page_link_shape(url: str) -> tuple[str, tuple[str, str] | None]:
    """A page link's static trap argument ("" for none) and, without one, its id template."""
    trap, template = link_shape(url)
    if trap is not None:
        return f"T\t{trap.kind}\t{trap.prefix}", None
    return "", template
