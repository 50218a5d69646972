"""The pages a site's crawls keep for conditional re-reads: their stored form (``wire.KnownPage``) and
REMEMBER (linkpatrol/frontier/remember.lua), called directly."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from linkpatrol.frontier.known_pages import KnownPages
from linkpatrol.model.wire import MAX_KNOWN_PAGE, FoundLink, FrontierMessage, KnownPage, MessageKind, Referrer
from linkpatrol.store.connection import AsyncClient
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys

SITE = "http://site.example/"


def known(n_links: int = 3, **fields: Any) -> KnownPage:
    kinds = (MessageKind.CHECK, MessageKind.PAGE)
    links = [FoundLink(f"{SITE}p/{i}", FrontierMessage(f"{SITE}p/{i}", kinds[i % 2]),
                       Referrer(SITE, f"Page {i}", "a", "sec" if i == 1 else "", i + 10), "sec" if i == 1 else "")
             for i in range(n_links)]
    return KnownPage(**{"etag": 'W/"x1"', "last_modified": "Tue, 01 Dec 2026 10:00:00 GMT", "fingerprint": "f1",
                        "links": links, "anchors": {"sec", "café"}, "content_type": "text/html", **fields})


def test_a_known_page_reads_back_as_it_was_kept() -> None:
    page = known(over_cap=4, depth_limited=True, read_at=1_700_000_000.25)
    page.links.append(FoundLink(f"{SITE}x", FrontierMessage(f"{SITE}x", MessageKind.CHECK),
                                Referrer(f"{SITE}other", "", "img", "")))  # another referring page
    again = KnownPage.decode(page.encode())
    assert again == page
    assert KnownPage.decode(known(anchors=None).encode()).anchors is None
    with pytest.raises(ValueError):
        KnownPage.decode(b"not zlib")


def test_remember_keeps_the_pages_of_a_sites_own_crawls_within_the_cap(
        store: CrawlStore, redis_url: str) -> None:
    keys = Keys()
    crawl = store.create(SITE)

    async def run() -> tuple[list[bool], KnownPage | None, KnownPage | None]:
        client = AsyncClient.from_url(redis_url, decode_responses=True)
        pages = KnownPages(client, keys, cap=3)
        try:
            stored = [await pages.put(crawl.id, SITE, f"{SITE}{i}", known(), now=1000.0 + i) for i in range(5)]
            stored.append(await pages.put("no-such-crawl", SITE, f"{SITE}other", known()))
            stored.append(await pages.put(crawl.id, SITE, f"{SITE}huge", _huge()))
            return stored, await pages.get(SITE, f"{SITE}4"), await pages.get(SITE, f"{SITE}0")
        finally:
            await client.aclose()

    stored, newest, oldest = asyncio.run(run())
    assert stored == [True] * 5 + [False, False]  # a crawl that is not the site's; a page too large
    assert newest == known() and oldest is None
    assert sorted(store.r.hkeys(keys.site_pages(SITE))) == [f"{SITE}{i}" for i in (2, 3, 4)]
    assert store.r.zrange(keys.site_pages_order(SITE), 0, -1) == [f"{SITE}{i}" for i in (2, 3, 4)]


def _huge() -> KnownPage:
    """A page whose stored form is past ``MAX_KNOWN_PAGE``: links that do not compress."""
    page = known(n_links=0)
    for i in range(MAX_KNOWN_PAGE // 10):  # 16 random bytes each
        url = f"{SITE}{secrets.token_hex(16)}"
        page.links.append(FoundLink(url, FrontierMessage(url, MessageKind.CHECK), Referrer(SITE, str(i), "a", "")))
    return page
