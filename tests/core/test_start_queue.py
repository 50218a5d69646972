"""The start queue against a real Redis, as a crawler reads it (``linkpatrol.store.start_queue.StartQueue``):
hostile messages go to the dead-letter list and never hold back the others, a batch cut short is
finished by the next round, a message taken back by a peer is handled once, a crawler that starts
takes back the claimed lists of crawlers that stopped."""

from __future__ import annotations

import asyncio
import json
import time

import redis

from linkpatrol.model.start_messages import MAX_START_MESSAGE, DeadStartMessage, StartMessage
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.start_queue import ATTEMPTS, DEAD_KEPT, StartQueue
from tests.support.processes import linkpatrol_cli
from tests.support.start_messages import claim_and_handle, with_start_queue

KEYS = Keys()
DEEP = "[" * 5000 + "]" * 5000
HUGE = "http://big.example/" + "a" * (2 * 1024 * 1024)
HOSTILE: list[tuple[str | bytes, str]] = [  # a message and what its dead letter says
    (b"\xff\xfe bad bytes", "not UTF-8 text"),
    (DEEP, "nested more than"),
    (HUGE, f"more than the {MAX_START_MESSAGE}"),
    ("42", "must be an object, not a number"),
    ('{"url": "http://x.example/", "extra": [1]}', "extra: is not a crawl option"),
    ("[1, 2]", "must be an object, not an array"),
    ("null", "must be an object, not null"),
]


def _dead(rclient: redis.Redis) -> list[DeadStartMessage]:
    return [DeadStartMessage.decode(str(raw)) for raw in rclient.lrange(KEYS.start_dead, 0, -1)]


def _push_in_one_transaction(redis_url: str, messages: list[str | bytes]) -> None:
    raw = redis.Redis.from_url(redis_url)  # bytes in, as a scrapy-redis user's client sends them
    pipe = raw.pipeline(transaction=True)
    pipe.rpush(KEYS.start, *messages)
    pipe.execute()
    raw.close()


def test_hostile_messages_are_dead_letters_and_the_batch_goes_on(redis_url: str, rclient: redis.Redis,
                                                                  store: CrawlStore) -> None:
    valid = [f"http://site.example/{n}" for n in range(3)]
    messages: list[str | bytes] = [valid[0], *[m for m, _ in HOSTILE[:4]], valid[1], *[m for m, _ in HOSTILE[4:]],
                                   json.dumps({"url": valid[2], "max_depth": 0})]
    _push_in_one_transaction(redis_url, messages)
    started = time.monotonic()
    handled = with_start_queue(redis_url, lambda q: claim_and_handle(q, 20))
    assert time.monotonic() - started < 20  # bounded work, however hostile (a loaded machine: generous)

    assert sorted(c.url for c in store.list()) == valid
    assert {c.origin for c in store.list()} == {"start-queue"}
    assert sum(1 for h in handled if h) == 3
    dead = {letter.size: letter for letter in _dead(rclient)}  # the sizes differ
    assert len(dead) == len(HOSTILE)
    for message, reason in HOSTILE:
        letter = dead[len(message if isinstance(message, bytes) else message.encode())]
        assert reason in letter.reason
        assert len(letter.message) <= 1003 and abs(letter.at - time.time()) < 60
    assert dead[len(HOSTILE[0][0])].message == "\\xff\\xfe bad bytes"
    assert rclient.llen(KEYS.start) == 0 and rclient.llen(KEYS.start_claimed("w1")) == 0


def test_a_batch_cut_short_is_finished_by_the_next_round(redis_url: str, rclient: redis.Redis,
                                                         store: CrawlStore) -> None:
    # A round that stopped halfway left two messages in this crawler's claimed list.
    rclient.rpush(KEYS.start_claimed("w1"), "http://site.example/left-1", "http://site.example/left-2")
    rclient.rpush(KEYS.start, "http://site.example/new")

    async def round_of_two(queue: StartQueue) -> list[str]:
        return await queue.claim(2)

    assert with_start_queue(redis_url, round_of_two) == ["http://site.example/left-1", "http://site.example/left-2"]
    with_start_queue(redis_url, claim_and_handle)
    assert sorted(c.url for c in store.list()) == [f"http://site.example/{p}" for p in ("left-1", "left-2", "new")]
    assert rclient.llen(KEYS.start_claimed("w1")) == 0


def test_a_message_a_peer_took_back_is_handled_once(redis_url: str, rclient: redis.Redis, store: CrawlStore) -> None:
    """A crawler that stalled past its heartbeat: a peer's reaper moved its claimed message back to
    the queue. When it wakes up it must leave the message to whoever takes it next."""
    rclient.rpush(KEYS.start, "http://site.example/")

    async def stalled(queue: StartQueue) -> str | None:
        (raw,) = await queue.claim(1)
        rclient.lmove(KEYS.start_claimed("w1"), KEYS.start, "RIGHT", "LEFT")  # the reaper of a peer
        return await queue.handle(raw)

    assert with_start_queue(redis_url, stalled, worker="w1") is None
    assert store.list() == []
    (crawl_id,) = with_start_queue(redis_url, claim_and_handle, worker="w2")
    assert crawl_id is not None and [c.id for c in store.list()] == [crawl_id]
    assert store.require(crawl_id).state == "running"


def test_a_message_that_keeps_failing_becomes_a_dead_letter(redis_url: str, rclient: redis.Redis,
                                                            store: CrawlStore) -> None:
    # A queued crawl whose record no crawler can read: seeding it fails every time.
    rclient.hset(KEYS.crawl("broken"), mapping={"id": "broken", "state": "queued", "url": "http://site.example/",
                                                "options": "{not json"})
    poison = StartMessage(crawl_id="broken").encode()
    rclient.rpush(KEYS.start, poison, "http://site.example/after")

    async def rounds(queue: StartQueue) -> list[list[str | None]]:
        return [await claim_and_handle(queue) for _ in range(ATTEMPTS)]

    results = with_start_queue(redis_url, rounds)
    assert [c.url for c in store.list()] == ["http://site.example/after"]  # in the first round
    assert results[0][0] is None and results[0][1] is not None
    (letter,) = _dead(rclient)
    assert letter.message == poison and "could not be handled" in letter.reason
    assert rclient.llen(KEYS.start_claimed("w1")) == 0


def test_a_starting_crawler_takes_back_the_lists_of_crawlers_that_stopped(redis_url: str,
                                                                         rclient: redis.Redis) -> None:
    rclient.rpush(KEYS.start_claimed("gone"), "http://site.example/a", "http://site.example/b")
    rclient.rpush(KEYS.start_claimed("alive"), "http://site.example/c")
    rclient.set(KEYS.crawler_alive("alive"), "1", ex=60)
    rclient.rpush(KEYS.start, "http://site.example/d")

    assert with_start_queue(redis_url, lambda q: q.take_back_own(), worker="new") == 2
    assert rclient.lrange(KEYS.start, 0, -1) == ["http://site.example/a", "http://site.example/b",
                                                 "http://site.example/d"]
    assert rclient.lrange(KEYS.start_claimed("alive"), 0, -1) == ["http://site.example/c"]
    assert not rclient.exists(KEYS.start_claimed("gone"))


def test_the_dead_letter_list_is_capped_and_listed(redis_url: str, rclient: redis.Redis) -> None:
    rclient.rpush(KEYS.start, *[f"[{n}]" for n in range(DEAD_KEPT + 5)])

    async def everything(queue: StartQueue) -> None:
        while batch := await queue.claim(100):
            for raw in batch:
                await queue.handle(raw)

    with_start_queue(redis_url, everything)
    assert rclient.llen(KEYS.start_dead) == DEAD_KEPT
    assert json.loads(rclient.lindex(KEYS.start_dead, 0) or "")["message"] == "[5]"  # the oldest kept

    done = linkpatrol_cli(redis_url, "start-queue", "dead", "--limit", "2")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [x["message"] for x in lines] == [f"[{DEAD_KEPT + 4}]", f"[{DEAD_KEPT + 3}]"]  # newest first
    assert lines[0]["reason"] == "a JSON start message must be an object, not an array"
    assert lines[0]["size"] == len(f"[{DEAD_KEPT + 4}]")
    assert f"{DEAD_KEPT - 2} older ones not shown" in done.stderr


def test_an_idle_crawler_takes_a_message_as_it_comes(redis_url: str, rclient: redis.Redis,
                                                     store: CrawlStore) -> None:
    """The wait for a start message (BLMOVE into the claimed list) ends when one is pushed, not at the
    end of its 10 s; the message is then this crawler's first claim and nobody else's."""
    async def body(queue: StartQueue) -> tuple[bool, float, list[str], list[str]]:
        waiting = asyncio.ensure_future(queue.wait(10))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        pushed = time.monotonic()
        await asyncio.to_thread(rclient.lpush, KEYS.start, "http://site.example/new")
        came = await waiting
        took = time.monotonic() - pushed
        return came, took, await queue.claim(10), rclient.lrange(KEYS.start, 0, -1)

    came, took, claimed, left = with_start_queue(redis_url, body)
    assert came and took < 5  # not the wait's 10 s (generous: a loaded machine)
    assert claimed == ["http://site.example/new"] and left == []
    assert with_start_queue(redis_url, lambda q: q.wait(0.2)) is False  # nothing came: False after the timeout
