"""Group commit (crawler/frontier/group_commit.py): urls recorded at the same moment share a pipeline,
and every way a pipeline can go wrong still records every url exactly once. Real Redis, the frontier's
own scripts, asyncio client as a crawler has it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from crawler.frontier.group_commit import GroupCommit, in_turn
from linkpatrol.frontier import ScriptCall, Scripts
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import Completion, FoundLink, FrontierMessage, LinkResult, MessageKind
from linkpatrol.store.connection import AsyncClient
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.frontier import NOW, SITE, Client

PAGES = 60


@pytest.fixture
def keys(store: CrawlStore) -> Keys:
    return store.keys


def leased_crawl(store: CrawlStore, rclient: Client, scripts: Scripts) -> str:
    """A crawl whose seed linked /p/0 .. /p/PAGES-1, all of them leased to crawler w0."""
    crawl_id = store.create(f"{SITE}/").id
    rclient.delete(store.keys.start)
    assert scripts.seed(crawl_id, f"{SITE}/", NOW) == 1
    assert scripts.pop(crawl_id, 1, "w0", NOW)
    links = [FoundLink(f"{SITE}/p/{i}", FrontierMessage(f"{SITE}/p/{i}", MessageKind.PAGE, 1)) for i in range(PAGES)]
    scripts.complete(Completion(crawl_id, LinkResult(f"{SITE}/", Outcome.OK, status=200), True, links),
                     now=NOW, max_referrers=10)
    assert len(scripts.pop(crawl_id, PAGES, "w0", NOW)) == PAGES
    return crawl_id


def page_done(crawl_id: str, i: int) -> Completion:
    """Page i, read: a link to a resource of its own (so LINKS then COMPLETE)."""
    url = f"{SITE}/p/{i}"
    extra = f"{SITE}/img/{i}.png"
    return Completion(crawl_id, LinkResult(url, Outcome.OK, status=200), True,
                      [FoundLink(extra, FrontierMessage(extra, MessageKind.CHECK, 2))])


def record_all(redis_url: str, keys: Any, crawl_id: str, before: Any = None) -> tuple[list[Any], GroupCommit]:
    async def main() -> tuple[list[Any], GroupCommit]:
        client = AsyncClient.from_url(redis_url)
        try:
            scripts = Scripts(client, keys)
            group = GroupCommit(client, max_calls=16)
            if before is not None:
                await before(client, scripts)
            calls = [scripts.completion_steps(page_done(crawl_id, i), now=NOW + 1, max_referrers=10)
                     for i in range(PAGES)]
            replies = await asyncio.gather(*(group.run(c) for c in calls), return_exceptions=True)
            return replies, group
        finally:
            await client.aclose()
    return asyncio.run(main())


def test_urls_recorded_together_share_pipelines_and_all_land(redis_url: str, store: CrawlStore, rclient: Client,
                                                             keys: Any) -> None:
    scripts = Scripts(rclient, keys)
    crawl_id = leased_crawl(store, rclient, scripts)
    replies, group = record_all(redis_url, keys, crawl_id)
    assert all(not isinstance(r, BaseException) for r in replies), replies
    # 60 pages of two calls each, at most 16 calls a batch: 8 batches (16 round trips), not 120.
    assert group.batches == 8 and group.fallbacks == 0
    crawl = store.require(crawl_id)
    assert crawl.pages_crawled == PAGES + 1
    assert rclient.hlen(keys.inflight(crawl_id)) == 0  # every lease released
    assert rclient.llen(keys.queue(crawl_id)) == PAGES  # each page's own image queued, once
    assert replies.count(1) == PAGES


def test_a_script_redis_forgot_is_loaded_again_and_nothing_is_lost(redis_url: str, store: CrawlStore,
                                                                  rclient: Client, keys: Any) -> None:
    """After a Redis restart (SCRIPT FLUSH here) every call of a pipeline answers NOSCRIPT: each url
    goes down the call-by-call path, which loads the script again."""
    scripts = Scripts(rclient, keys)
    crawl_id = leased_crawl(store, rclient, scripts)

    async def flush(client: Any, _: Scripts) -> None:
        await client.script_flush()
    replies, group = record_all(redis_url, keys, crawl_id, before=flush)
    assert all(not isinstance(r, BaseException) for r in replies), replies
    assert group.fallbacks >= 1
    assert store.require(crawl_id).pages_crawled == PAGES + 1
    assert rclient.hlen(keys.inflight(crawl_id)) == 0
    assert rclient.llen(keys.queue(crawl_id)) == PAGES  # recorded twice changes nothing


def test_a_url_whose_links_failed_is_not_completed_before_they_are_in(redis_url: str, store: CrawlStore,
                                                                       rclient: Client, keys: Any) -> None:
    """Redis knows COMPLETE but not LINKS (restarted, then one script loaded again): the LINKS calls
    answer NOSCRIPT. COMPLETE must not run before the links are in: it releases the lease, and the
    last lease released ends the crawl with the links never queued."""
    scripts = Scripts(rclient, keys)
    crawl_id = leased_crawl(store, rclient, scripts)

    async def forget_links(client: Any, ascripts: Scripts) -> None:
        await client.script_flush()
        await client.script_load(ascripts._complete.script)
    replies, group = record_all(redis_url, keys, crawl_id, before=forget_links)
    assert all(not isinstance(r, BaseException) for r in replies), replies
    assert group.fallbacks >= 1  # the first reloads LINKS: pipelines after it go through
    assert rclient.llen(keys.queue(crawl_id)) == PAGES  # every page's image queued
    assert store.require(crawl_id).state == "running"  # the images are still to check


def test_a_url_whose_waiter_gives_up_holds_back_no_other(redis_url: str, store: CrawlStore, rclient: Client,
                                                         keys: Any) -> None:
    """The task recording one url is cancelled while its batch is out (a crawler stopping, a timeout):
    the others of the batch are recorded and answered, and the cancelled one's calls, already sent,
    land too (they are idempotent; the lease book is the recorder's to release)."""
    scripts = Scripts(rclient, keys)
    crawl_id = leased_crawl(store, rclient, scripts)

    async def main() -> list[Any]:
        client = AsyncClient.from_url(redis_url)
        try:
            ascripts = Scripts(client, keys)
            group = GroupCommit(client)
            tasks = [asyncio.ensure_future(group.run(ascripts.completion_steps(page_done(crawl_id, i), now=NOW + 1,
                                                                               max_referrers=10)))
                     for i in range(6)]
            await asyncio.sleep(0)  # queued; the batch is not sent yet
            tasks[2].cancel()
            return await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await client.aclose()
    replies = asyncio.run(main())
    assert isinstance(replies[2], asyncio.CancelledError)
    assert [r for i, r in enumerate(replies) if i != 2] == [1] * 5
    assert store.require(crawl_id).pages_crawled == 1 + 6


def test_a_call_that_raises_fails_only_its_own_url(redis_url: str, store: CrawlStore, rclient: Client,
                                                   keys: Any) -> None:
    scripts = Scripts(rclient, keys)
    crawl_id = leased_crawl(store, rclient, scripts)

    async def main() -> tuple[list[Any], GroupCommit]:
        client = AsyncClient.from_url(redis_url)
        try:
            ascripts = Scripts(client, keys)
            broken = client.register_script("return redis.error_reply('broken on purpose')")
            await client.script_load(broken.script)
            group = GroupCommit(client)
            calls = [ascripts.completion_steps(page_done(crawl_id, i), now=NOW + 1, max_referrers=10)
                     for i in range(4)]
            calls.insert(2, [ScriptCall(broken, [], [])])
            return await asyncio.gather(*(group.run(c) for c in calls), return_exceptions=True), group
        finally:
            await client.aclose()
    replies, group = asyncio.run(main())
    assert [isinstance(r, Exception) for r in replies] == [False, False, True, False, False]
    assert "broken on purpose" in str(replies[2])
    assert group.batches == 1
    assert store.require(crawl_id).pages_crawled == 1 + 4


def test_a_page_of_more_calls_than_a_pipeline_takes_goes_call_by_call(redis_url: str, store: CrawlStore,
                                                                     rclient: Client, keys: Any) -> None:
    scripts = Scripts(rclient, keys)
    crawl_id = leased_crawl(store, rclient, scripts)
    links = [FoundLink(f"{SITE}/r/{j}", FrontierMessage(f"{SITE}/r/{j}", MessageKind.CHECK, 2)) for j in range(2000)]
    done = Completion(crawl_id, LinkResult(f"{SITE}/p/0", Outcome.OK, status=200), True, links)

    async def main() -> tuple[Any, GroupCommit]:
        client = AsyncClient.from_url(redis_url)
        try:
            group = GroupCommit(client, max_calls=16)
            calls = Scripts(client, keys).completion_steps(done, now=NOW + 1, max_referrers=10)
            assert len(calls) > 16
            return await group.run(calls), group
        finally:
            await client.aclose()
    reply, group = asyncio.run(main())
    assert reply == 1 and group.batches == 0
    assert rclient.llen(keys.queue(crawl_id)) == 2000  # the other pages are leased, not queued


def test_in_turn_is_what_a_pipeline_gives(redis_url: str, store: CrawlStore, rclient: Client, keys: Any) -> None:
    """The same pages recorded call by call and through pipelines leave the same record."""
    scripts = Scripts(rclient, keys)
    first = leased_crawl(store, rclient, scripts)
    second = leased_crawl(store, rclient, scripts)

    async def main() -> None:
        client = AsyncClient.from_url(redis_url)
        try:
            ascripts = Scripts(client, keys)
            for i in range(PAGES):
                await in_turn(ascripts.completion_steps(page_done(first, i), now=NOW + 1, max_referrers=10))
        finally:
            await client.aclose()
    asyncio.run(main())
    record_all(redis_url, keys, second)
    a, b = store.require(first), store.require(second)
    assert (a.pages_crawled, a.links_checked, a.state) == (b.pages_crawled, b.links_checked, b.state)
    assert rclient.lrange(keys.queue(first), 0, -1) == rclient.lrange(keys.queue(second), 0, -1)
