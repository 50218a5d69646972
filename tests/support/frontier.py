"""Shared pieces of the tests that call the frontier's Lua scripts one by one (tests/core/test_frontier_*)."""

from __future__ import annotations

from typing import Any

from linkpatrol.frontier import Scripts
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import Completion, FoundLink, FrontierMessage, LinkResult, MessageKind
from linkpatrol.store.crawls import CrawlStore

SITE = "http://site.example"
NOW = 1_700_000_000.0  # a fixed clock: every time in the scripts' records is computed from it
# The rclient fixture: a redis.Redis that decodes, so every reply is a str (redis-py's types say bytes | str).
Client = Any


def running(store: CrawlStore, rclient: Client, scripts: Scripts, paths: tuple[str, ...]) -> str:
    """A running crawl whose seed page was read and linked ``paths`` (queued, none leased)."""
    crawl_id = store.create(f"{SITE}/").id
    rclient.delete(store.keys.start)
    assert scripts.seed(crawl_id, f"{SITE}/", NOW) == 1
    assert scripts.pop(crawl_id, 1, "w0", NOW)
    links = [FoundLink(SITE + p, FrontierMessage(SITE + p, MessageKind.PAGE, 1)) for p in paths]
    scripts.complete(Completion(crawl_id, LinkResult(f"{SITE}/", Outcome.OK, status=200), True, links),
                     now=NOW, max_referrers=10)
    return crawl_id
