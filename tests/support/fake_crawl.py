"""The one way tests fake a crawl: no crawler, no HTTP; the test plays the crawler's part through the
frontier's own scripts (seed, pop, complete), so what lands in Redis is exactly what a crawl leaves."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from linkpatrol.frontier import Scripts
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.records import Crawl
from linkpatrol.model.wire import Completion, FoundLink, FrontierMessage, LinkResult, MessageKind, Referrer
from linkpatrol.store.crawls import CrawlStore


@dataclass
class FakePage:
    """What checking one url gives: its result and, for a parsed page, its links (target, text)."""

    result: LinkResult
    # (target, text) or (target, text, line); "target#id" checks the id
    links: list[tuple[Any, ...]] = field(default_factory=list)
    is_page: bool = False
    anchors: set[str] | None = None  # the page's ids, when it was read for them
    sitemap: bool = False  # a sitemap: its links are a listing (orphan candidates)


def run_crawl(store: CrawlStore, seed: str, pages: dict[str, FakePage], options: CrawlOptions | None = None,
              *, max_referrers: int = 1000) -> Crawl:
    """Create a crawl of ``seed`` and complete every url it reaches with ``pages[url]`` (a url missing
    from ``pages`` answers 200), until the frontier says the crawl finished."""
    crawl = store.create(seed, options or CrawlOptions())
    store.r.lpop(store.keys.start)  # no crawler here: the test plays its part
    scripts = Scripts(store.r, store.keys)
    scripts.seed(crawl.id, crawl.url, time.time())
    while popped := scripts.pop(crawl.id, 100, "test-worker"):
        for raw in popped:
            url = FrontierMessage.decode(raw).url
            page = pages.get(url) or FakePage(LinkResult(url, "ok", 200))
            links = []
            for linked, text, *line in page.links:
                target, _, anchor = linked.partition("#")
                links.append(FoundLink(target, FrontierMessage(target, MessageKind.CHECK, 1),
                                       Referrer(url, text, "sitemap" if page.sitemap else "a", anchor,
                                                line[0] if line else 0), anchor))
            scripts.complete(Completion(crawl.id, page.result, page.is_page, links, anchors=page.anchors,
                                        from_sitemap=page.sitemap), now=time.time(), max_referrers=max_referrers)
    return store.require(crawl.id)
